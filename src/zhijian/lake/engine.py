"""Engine connections for the lake: Ibis on DuckDB (default) or on PySpark (the ``spark`` extra).

Portability rules (research/engines.md): Ibis sets the session time zone to UTC on both engines,
so calendar logic uses ``local_ts``; regexes stay in the RE2∩Java subset; no ``hash()`` or
``approx_*`` where engines are compared; explicit int64 arithmetic; PYSPARK_PYTHON set.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from zhijian.errors import ZhijianError


def connect(engine: str, spark_conf: dict[str, Any] | None = None):
    import ibis

    if engine == "duckdb":
        con = ibis.duckdb.connect()
        threads = os.environ.get("ZHIJIAN_DUCKDB_THREADS")
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        return con
    if engine == "spark":
        return _spark(spark_conf or {})
    raise ZhijianError(
        f"未知的分析引擎 {engine!r}（可选 duckdb、spark）", f"unknown engine {engine!r}; use duckdb or spark"
    )


_SPARK = None


def spark_session(conf: dict[str, Any]):
    """One shared local/cluster SparkSession per process."""
    global _SPARK
    if _SPARK is not None:
        return _SPARK
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ZhijianError(
            "未安装 PySpark：请安装 zhijian[spark] 扩展",
            "PySpark is not installed: pip install 'zhijian[spark]'",
        ) from e
    # Spark's Python workers use python3 from PATH unless told (engines.md pitfall 5).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    b = (
        SparkSession.builder.appName("zhijian")
        .master(conf.get("master", "local[2]"))
        .config("spark.driver.memory", conf.get("driver_memory", "4g"))
        .config("spark.sql.shuffle.partitions", str(conf.get("shuffle_partitions", 8)))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        # The compiled rule pack reads masked text columns in many rules; CollapseProject would
        # inline those columns into every rule (heap exhaustion even on a few hundred rows), and the
        # resulting generated code exceeds the JVM method size. Keep projections and skip codegen.
        .config(
            "spark.sql.optimizer.excludedRules", "org.apache.spark.sql.catalyst.optimizer.CollapseProject"
        )
        .config("spark.sql.codegen.wholeStage", "false")
    )
    _SPARK = b.getOrCreate()
    _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


def _spark(conf: dict[str, Any]):
    import ibis

    return ibis.pyspark.connect(spark_session(conf))
