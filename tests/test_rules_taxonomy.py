"""The taxonomy: 17 finding categories and 9 message labels with their sources."""

from __future__ import annotations

import pytest

from zhijian.rules import taxonomy

PRODUCT_CATEGORIES = [
    "FORCED_USE",
    "ENGAGEMENT_RANKING",
    "MANDATORY_CHECKIN_POINTS",
    "EXCESSIVE_TRACE",
    "GROUP_ROLLCALL_INSTANT",
    "ARBITRARY_TASKS",
    "MULTI_REPORTING",
    "DUPLICATE",
    "DUPLICATE_GROUP",
    "ZOMBIE",
    "STALE_TEMP_GROUP",
    "OFF_TOPIC_GROUP",
    "FORWARD_LIKE_VOTE",
    "AFTER_HOURS",
    "NONCOMPLIANT_BUILD",
    "TECH_QUALITY",
    "COMMERCIAL_USE",
]
PRODUCT_LABELS = [
    "roll_call_demand",
    "roll_call_reply",
    "checkin_demand",
    "proof_demand",
    "instant_response_demand",
    "data_request",
    "forward_like_demand",
    "app_usage_demand",
    "normal",
]


def test_categories_match_product_brief():
    cats = taxonomy.categories()
    assert [c.id for c in cats] == PRODUCT_CATEGORIES
    for c in cats:
        assert c.name_zh and c.definition_zh
        assert c.sources, c.id
        assert set(c.objects) <= {"app", "account", "group", "message"}
        for s in c.sources:
            assert s.title and s.date
    assert taxonomy.category("ZOMBIE").name_zh == "空壳、僵尸"
    with pytest.raises(KeyError):
        taxonomy.category("NOPE")


def test_labels_and_their_mapping():
    labs = taxonomy.labels()
    assert [x.id for x in labs] == PRODUCT_LABELS
    known = set(PRODUCT_CATEGORIES)
    for x in labs:
        assert x.name_zh and x.definition_zh
        assert set(x.maps_to) <= known
    assert taxonomy.label("proof_demand").maps_to == ("EXCESSIVE_TRACE",)
    assert taxonomy.label("normal").maps_to == ()
