"""Datasets, jobs, models and keys over REST, on the trained demo world."""

import pyarrow.parquet as pq

from aiflywheel.kernel.worker import execute


def test_upload_a_dataset_and_a_second_version(world):
    csv = b"x,y\n" + b"".join(f"{i},{'a' if i % 3 else 'b'}\n".encode() for i in range(30))
    first = world.call("writer", "POST", "/v1/datasets", data={"name": "tiny"}, files={"file": ("tiny.csv", csv)})
    assert first.status_code == 201, first.text
    assert (first.json()["dataset"], first.json()["version"], first.json()["row_count"]) == ("tiny", 1, 30)
    assert first.json()["source"]["file"] == "tiny.csv"

    second = world.call(
        "writer", "POST", "/v1/datasets", data={"name": "tiny", "columns": "y"}, files={"file": ("t.csv", csv)}
    )
    assert second.json()["version"] == 2 and [c["name"] for c in second.json()["columns"]] == ["y"]
    versions = world.call("reader", "GET", "/v1/datasets/tiny/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert world.call("reader", "GET", "/v1/datasets/tiny").json()["latest"]["version"] == 2
    assert world.call("reader", "GET", "/v1/datasets/tiny/versions/1").json()["row_count"] == 30
    assert {d["name"] for d in world.call("reader", "GET", "/v1/datasets").json()} >= {"tiny", "demo-breast-cancer"}


def test_a_bad_file_is_400_naming_it(world):
    response = world.call(
        "writer", "POST", "/v1/datasets", data={"name": "broken"}, files={"file": ("broken.parquet", b"not parquet")}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"
    assert "broken.parquet" in response.json()["error"]["message"]
    assert world.call("reader", "GET", "/v1/datasets/broken").status_code == 404, "a failed upload leaves nothing"


def test_an_upload_over_the_limit_is_413(world):
    small = world.app(max_upload_bytes=1024)
    response = small.post(
        "/v1/datasets",
        headers=world.auth("writer"),
        data={"name": "big"},
        files={"file": ("big.csv", b"x\n" + b"1\n" * 2000)},
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_a_dataset_from_a_path_on_the_server_takes_an_admin(world, tmp_path):
    csv = tmp_path / "server.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    body = {"name": "from-disk", "path": str(csv)}
    assert world.call("writer", "POST", "/v1/datasets/from-path", json=body).status_code == 403
    response = world.call("admin", "POST", "/v1/datasets/from-path", json=body)
    assert response.status_code == 201 and response.json()["row_count"] == 2

    missing = world.call("admin", "POST", "/v1/datasets/from-path", json={"name": "x", "path": "/no/such/file.csv"})
    assert missing.status_code == 400 and "file.csv" in missing.json()["error"]["message"]


def test_submit_list_get_logs_and_cancel_a_training_job(world):
    body = {"type": "train", "kind": "tabular", "dataset": "demo-breast-cancer", "params": {"target": "diagnosis"}}
    submitted = world.call("writer", "POST", "/v1/jobs", json=body)
    assert submitted.status_code == 201 and submitted.json()["state"] == "queued"
    job_id = submitted.json()["id"]

    assert job_id in [job["id"] for job in world.call("reader", "GET", "/v1/jobs").json()]
    queued = world.call("reader", "GET", "/v1/jobs", params={"state": "queued"}).json()
    assert [job["id"] for job in queued] == [job_id]
    assert world.call("reader", "GET", "/v1/jobs", params={"limit": 1}).json()[0]["id"] == job_id
    assert world.call("reader", "GET", f"/v1/jobs/{job_id}").json()["spec"]["kind"] == "tabular"
    logs = world.call("reader", "GET", f"/v1/jobs/{job_id}/logs").json()
    assert logs and all({"id", "at", "message"} <= set(line) for line in logs)
    assert world.call("reader", "GET", f"/v1/jobs/{job_id}/logs", params={"after": logs[-1]["id"]}).json() == []

    cancelled = world.call("writer", "POST", f"/v1/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = world.call("writer", "POST", f"/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_a_training_job_is_checked_before_it_is_queued(world):
    unknown_kind = {"type": "train", "kind": "nokind", "dataset": "demo-breast-cancer"}
    response = world.call("writer", "POST", "/v1/jobs", json=unknown_kind)
    assert response.status_code == 404 and response.json()["error"]["code"] == "kind_not_found"
    assert "tabular" in response.json()["error"]["message"], "the known kinds are listed"

    missing_column = {**unknown_kind, "kind": "tabular", "params": {"target": "nope"}}
    response = world.call("writer", "POST", "/v1/jobs", json=missing_column)
    assert response.status_code == 400 and "nope" in response.json()["error"]["message"]

    assert world.call("writer", "GET", "/v1/jobs/999999").status_code == 404


def test_a_batch_prediction_job_writes_a_dataset_whose_ids_take_feedback(world):
    body = {"type": "batch_predict", "model": world.model, "dataset": "demo-breast-cancer", "output": "scored"}
    submitted = world.call("writer", "POST", "/v1/jobs", json=body)
    assert submitted.status_code == 201, submitted.text
    platform = world.platform
    execute(platform, platform.all_jobs().claim("tests:1", job_id=submitted.json()["id"]))
    job = world.call("reader", "GET", f"/v1/jobs/{submitted.json()['id']}").json()
    assert job["state"] == "succeeded", job["error"]
    assert job["result"] == {"dataset": "scored", "version": 1, "rows": 569}

    scored = world.call("reader", "GET", "/v1/datasets/scored/versions/1").json()
    names = [column["name"] for column in scored["columns"]]
    assert {"prediction_id", "predicted_label", "predicted_score", "diagnosis"} <= set(names)
    table = pq.read_table(platform.artifacts.local_path(scored["artifact"]), columns=["prediction_id"])
    assert table.num_rows == 569 and len(set(table.column(0).to_pylist())) == 569

    prediction_id = scored["preview"][0]["prediction_id"]
    feedback = {"prediction_id": prediction_id, "event_id": "batch-1", "label": scored["preview"][0]["diagnosis"]}
    response = world.call("writer", "POST", "/v1/feedback", json=feedback)
    assert response.status_code == 200 and response.json()["prediction_id"] == prediction_id


def test_models_list_get_and_promote(world):
    [version] = world.call("reader", "GET", "/v1/models").json()
    assert (version["model"], version["version"], version["kind"], version["stage"]) == (
        world.model,
        1,
        "tabular",
        "champion",
    )
    assert version["dataset"] == "demo-breast-cancer:1" and version["job_id"] == world.job_id
    assert world.call("reader", "GET", f"/v1/models/{world.model}/versions").json() == [version]
    assert world.call("reader", "GET", f"/v1/models/{world.model}").json() == version
    assert world.call("reader", "GET", f"/v1/models/{world.model}/versions/1").json() == version

    missing = world.call("reader", "GET", f"/v1/models/{world.model}/versions/7")
    assert missing.status_code == 404 and "no version 7" in missing.json()["error"]["message"]
    bad_stage = world.call("writer", "POST", f"/v1/models/{world.model}/versions/1/promote", json={"stage": "boss"})
    assert bad_stage.status_code == 400 and "stage" in bad_stage.json()["error"]["message"]

    promoted = world.call("writer", "POST", f"/v1/models/{world.model}/versions/1/promote", json={})
    assert promoted.status_code == 200 and promoted.json()["stage"] == "champion"


def test_keys_are_created_listed_and_revoked_by_an_admin(world):
    created = world.call("admin", "POST", "/v1/keys", json={"role": "writer", "name": "ci"})
    assert created.status_code == 201
    key, info = created.json()["key"], created.json()["info"]
    assert key.startswith(f"fw_{info['key_id']}_") and (info["role"], info["project"]) == ("writer", "default")
    listed = world.call("admin", "GET", "/v1/keys").json()
    assert info["key_id"] in [k["key_id"] for k in listed] and all("secret" not in str(k) for k in listed)
    assert world.http.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    assert world.call("admin", "DELETE", f"/v1/keys/{info['key_id']}").json()["revoked"] is True
    assert world.call("admin", "DELETE", "/v1/keys/nosuchkey").status_code == 404
    bad_role = world.call("admin", "POST", "/v1/keys", json={"role": "root"})
    assert bad_role.status_code == 400 and bad_role.json()["error"]["code"] == "invalid_input"


def test_a_pretrained_kind_is_installed_as_a_new_champion_its_endpoint_follows(world):
    assert world.platform.provision_services() == ["spelling"]
    before = world.call("reader", "POST", "/v1/endpoints/spelling/invocations", json={"instances": [{"text": "grey"}]})
    assert before.json()["predictions"] == [{"text": "grey"}]

    body = {"kind": "lexicon", "params": {"lexicon": {"grey": "gray"}}}
    assert world.call("reader", "POST", "/v1/models/spelling/install", json=body).status_code == 403
    installed = world.call("writer", "POST", "/v1/models/spelling/install", json=body)
    assert installed.status_code == 201
    assert (installed.json()["version"], installed.json()["stage"]) == (2, "champion")
    after = world.call("reader", "POST", "/v1/endpoints/spelling/invocations", json={"instances": [{"text": "grey"}]})
    assert after.json()["predictions"] == [{"text": "gray"}]

    not_pretrained = world.call("writer", "POST", "/v1/models/x/install", json={"kind": "tabular"})
    assert not_pretrained.status_code == 400 and "not pretrained" in not_pretrained.json()["error"]["message"]
    bad_params = world.call(
        "writer", "POST", "/v1/models/x/install", json={"kind": "lexicon", "params": {"lexicon": 1}}
    )
    assert bad_params.status_code == 400 and "lexicon" in bad_params.json()["error"]["message"]
    unknown = world.call("writer", "POST", "/v1/models/x/install", json={"kind": "nokind"})
    assert unknown.status_code == 404
