"""The Azure Table and Queue adapters against a real Azurite."""

import base64
import json
import uuid

import pytest
from azure.storage.queue import QueueClient

from shared.adapters.queues import AzureMessageQueue
from shared.adapters.tables import AzureTableStore
from shared.errors import Conflict, NotFound, Unavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def table_name():
    return "T" + uuid.uuid4().hex[:12]


class TestAzureTableStore:
    def test_upsert_get_replace_and_delete(self, storage_connection, table_name):
        store = AzureTableStore(storage_connection)
        store.upsert(table_name, {"PartitionKey": "p", "RowKey": "r", "a": 1, "b": "x"})
        store.upsert(table_name, {"PartitionKey": "p", "RowKey": "r", "a": 2})
        row = store.get(table_name, "p", "r")
        assert row["a"] == 2 and "b" not in row  # upsert replaces, it does not merge
        store.delete(table_name, "p", "r")
        store.delete(table_name, "p", "r")  # deleting twice is fine
        with pytest.raises(NotFound):
            store.get(table_name, "p", "r")

    def test_merge_with_stale_etag_is_a_conflict(self, storage_connection, table_name):
        store = AzureTableStore(storage_connection)
        store.upsert(table_name, {"PartitionKey": "p", "RowKey": "r", "n": 1})
        etag = store.get(table_name, "p", "r")["_etag"]
        store.merge(table_name, {"PartitionKey": "p", "RowKey": "r", "n": 2}, etag=etag)
        with pytest.raises(Conflict):
            store.merge(table_name, {"PartitionKey": "p", "RowKey": "r", "n": 3}, etag=etag)
        assert store.get(table_name, "p", "r")["n"] == 2

    def test_insert_refuses_an_existing_row(self, storage_connection, table_name):
        store = AzureTableStore(storage_connection)
        store.insert(table_name, {"PartitionKey": "p", "RowKey": "r", "n": 1})
        with pytest.raises(Conflict):
            store.insert(table_name, {"PartitionKey": "p", "RowKey": "r", "n": 2})
        assert store.get(table_name, "p", "r")["n"] == 1

    def test_query_by_partition_and_filter_and_batches_over_100(self, storage_connection, table_name):
        store = AzureTableStore(storage_connection)
        store.upsert_many(table_name, [{"PartitionKey": f"p{i % 2}", "RowKey": f"{i:04d}", "n": i} for i in range(250)])
        assert len(list(store.query(table_name, "p0"))) == 125
        assert [r["n"] for r in store.query(table_name, "p1", filter="n lt 6")] == [1, 3, 5]
        assert len(list(store.query(table_name))) == 250

    def test_lean_batches_keep_quotes_unicode_and_types_and_replace(self, storage_connection, table_name,
                                                                     monkeypatch):
        from datetime import UTC, datetime

        from shared.adapters import tables

        used = []
        lean = tables._lean_upserts
        monkeypatch.setattr(tables, "_lean_upserts", lambda *a: used.append(lean(*a)) or used[-1])
        store, now = AzureTableStore(storage_connection), datetime.now(UTC)
        rows = [{"PartitionKey": "t|o'b ü", "RowKey": f"r'{i} %2F", "n": i, "f": 1.5, "b": True, "at": now,
                 "s": 'é"\n'} for i in range(120)]
        store.upsert_many(table_name, rows)
        store.upsert_many(table_name, [{"PartitionKey": "t|o'b ü", "RowKey": "r'0 %2F", "n": 7}])
        assert used == [True, True, True]  # 100 + 20, then the replacement: no SDK fallback
        got = {r["RowKey"]: r for r in store.query(table_name, "t|o'b ü")}
        assert len(got) == 120 and got["r'0 %2F"]["n"] == 7 and "s" not in got["r'0 %2F"]
        assert got["r'5 %2F"]["at"] == now and got["r'5 %2F"]["s"] == 'é"\n' and got["r'5 %2F"]["b"] is True

    def test_unreachable_storage_is_unavailable(self):
        from devtools.azurite import connection_string, free_port

        port = free_port()
        store = AzureTableStore(connection_string(port, port, port))
        with pytest.raises(Unavailable):
            store.ping()


class TestAzureMessageQueue:
    def test_messages_are_base64_json_as_the_functions_host_expects(self, storage_connection):
        name = "q" + uuid.uuid4().hex[:12]
        AzureMessageQueue(storage_connection).send(name, {"room": "a@b.c", "n": 1})
        raw = QueueClient.from_connection_string(storage_connection, name).receive_message()
        assert json.loads(base64.b64decode(raw.content)) == {"n": 1, "room": "a@b.c"}


def test_merge_returns_the_new_etag_for_the_next_conditional_write(storage_connection):
    store = AzureTableStore(storage_connection)
    table = "T" + uuid.uuid4().hex[:12]
    store.upsert(table, {"PartitionKey": "p", "RowKey": "r", "n": 1})
    etag = store.merge(table, {"PartitionKey": "p", "RowKey": "r", "n": 2}, etag=store.get(table, "p", "r")["_etag"])
    assert etag == store.get(table, "p", "r")["_etag"]
    store.merge(table, {"PartitionKey": "p", "RowKey": "r", "n": 3}, etag=etag)
    assert store.get(table, "p", "r")["n"] == 3


class TestLeanBatchFallback:
    """The lean $batch path relies on SDK internals; if they change, writes go through the SDK instead."""

    @pytest.mark.parametrize("breakage", ["helper_gone", "attribute_gone"])
    def test_upsert_many_still_writes_when_the_lean_path_breaks(self, storage_connection, table_name, monkeypatch,
                                                                breakage):
        from shared.adapters import tables as adapter

        if breakage == "helper_gone":
            monkeypatch.setattr(adapter, "_add_entity_properties", None)
        else:
            def renamed(*args, **kwargs):
                raise AttributeError("'TableClient' object has no attribute '_primary_hostname'")

            monkeypatch.setattr(adapter, "_send_lean_batch", renamed)
        store = AzureTableStore(storage_connection)
        store.upsert_many(table_name, [{"PartitionKey": "p", "RowKey": f"{i:03d}", "n": i} for i in range(120)])
        assert sorted(r["n"] for r in store.query(table_name, "p")) == list(range(120))
