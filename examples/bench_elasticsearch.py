"""The Python baseline of `bench_elasticsearch`: the official client's
`elasticsearch.helpers.streaming_bulk` sending documents to the sink.

Usage: python bench_elasticsearch.py URL DOCUMENTS_NDJSON
Each line of DOCUMENTS_NDJSON is {"_index": ..., "_id": ..., "_source": {...}}.
Prints the documents sent and the seconds it took, as JSON.
"""

import json
import sys
import time

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk


def main():
    url, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as lines:
        documents = [json.loads(line) for line in lines]
    client = Elasticsearch(url, request_timeout=60)
    actions = ({"_op_type": "create", **document} for document in documents)
    started = time.perf_counter()
    sent = 0
    for ok, _item in streaming_bulk(client, actions, chunk_size=500):
        sent += ok
    elapsed = time.perf_counter() - started
    print(json.dumps({"sent": sent, "seconds": elapsed}))


if __name__ == "__main__":
    main()
