"""The official Elasticsearch client against `records serve`.

Usage: client.py URL VIEWS

Indexes VIEWS page views (the bulk helper, and one `index` call), then
searches them (date_histogram with avg and percentiles, terms, count,
mapping, field_caps) and prints every answer as one JSON object on
stdout, for the Rust test to compare with the typed API's. A bad document
and an unsupported clause must come back as the client's errors.
"""

import json
import sys

from elasticsearch import BadRequestError, Elasticsearch, helpers

url, views = sys.argv[1], int(sys.argv[2])
es = Elasticsearch(url, request_timeout=120)
out = {"info": es.info().body}


def view(i):
    return {
        "timestamp": f"2024-03-{1 + i % 3:02}T{i % 24:02}:{i % 60:02}:00Z",
        "item_id": i,
        "path": f"/items/{i % 5}",
        "latency": {"p50_ms": float(i % 100), "p99_ms": float(2 * (i % 100))},
        "tags": {"platform": "linux" if i % 2 else "mac"},
    }


actions = ({"_index": "shop_pageview", "_source": view(i)} for i in range(views - 1))
ok, errors = helpers.bulk(es, actions, chunk_size=500, raise_on_error=False)
out["bulk"] = {"ok": ok, "errors": len(errors)}
out["index"] = es.index(index="shop_pageview", document=view(views - 1)).body["result"]

# A document the type refuses: the helper reports it, the rest is written.
refused = list(
    helpers.streaming_bulk(
        es,
        [{"_index": "shop_pageview", "_source": {"timestamp": "2024-03-01T00:00:00Z", "colour": "red"}}],
        raise_on_error=False,
    )
)
out["refused"] = [{"ok": ok, "status": item["index"]["status"], "type": item["index"]["error"]["type"]} for ok, item in refused]

es.indices.refresh(index="shop_pageview_*")
out["count"] = es.count(index="shop_pageview_*").body["count"]
# A client that gzips its request bodies.
zipped = Elasticsearch(url, request_timeout=120, http_compress=True)
out["count_gzip"] = zipped.count(index="shop_pageview_*", query={"match_all": {}}).body["count"]
out["count_linux"] = es.count(index="shop_pageview_*", query={"term": {"tags.platform": "linux"}}).body["count"]
out["search"] = es.search(
    index="shop_pageview_*",
    size=0,
    query={"range": {"timestamp": {"gte": "2024-03-01T00:00:00Z", "lt": "2024-03-04T00:00:00Z"}}},
    aggs={
        "daily": {
            "date_histogram": {"field": "timestamp", "calendar_interval": "day"},
            "aggs": {
                "p99": {"avg": {"field": "latency.p99_ms"}},
                "pct": {"percentiles": {"field": "latency.p99_ms", "percents": [50, 99]}},
            },
        },
        "paths": {"terms": {"field": "path", "size": 10}},
    },
).body
out["hits"] = es.search(index="shop_pageview_*", size=3, sort=[{"timestamp": "asc"}, {"item_id": "asc"}]).body["hits"]
# Every document once, paged over a point in time.
pit = es.open_point_in_time(index="shop_pageview_*", keep_alive="1m").body["id"]
seen, after = [], None
while True:
    page = es.search(
        pit={"id": pit, "keep_alive": "1m"},
        size=300,
        sort=[{"timestamp": "asc"}, {"_shard_doc": "asc"}],
        search_after=after,
    ).body["hits"]["hits"]
    if not page:
        break
    seen.extend(hit["_source"]["item_id"] for hit in page)
    after = page[-1]["sort"]
es.close_point_in_time(id=pit)
out["pit"] = {"pages_seen": len(seen), "distinct": len(set(seen))}
out["msearch"] = [
    r["hits"]["total"]["value"]
    for r in es.msearch(
        searches=[
            {"index": "shop_pageview_*"},
            {"size": 0, "query": {"term": {"path": "/items/1"}}},
            {"index": "shop_pageview_2024.03.02"},
            {"size": 0},
        ]
    ).body["responses"]
]
out["mapping"] = es.indices.get_mapping(index="shop_pageview_2024.03.01").body
out["field_caps"] = es.field_caps(index="shop_pageview_*", fields="*").body

try:
    es.search(index="shop_pageview_*", query={"fuzzy": {"path": "/item"}})
    out["unsupported"] = None
except BadRequestError as error:
    out["unsupported"] = {"status": error.meta.status, "type": error.error}

print(json.dumps(out))
