"""Reminders to group owners through an outbox (store table ``outbox``).

``plan.plan_reminders`` puts reminders into the outbox — 30/15/1 days before a temporary group's end
date (``policy.groups.reminder_days``), once it is past, and for inactive groups
(``policy.groups.inactive_days`` without a substantive message); ``send.deliver`` delivers what is
due by SMTP e-mail and by WeCom / DingTalk group-robot webhooks (their JSON message formats), with
retries and back-off. Channels and addresses: ``<workspace>/notify.toml`` (``config.py``).
"""
