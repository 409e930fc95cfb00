"""The connect signing key rotates (issue 12): what was signed before a rotation still verifies after it.

Secrets Manager is moto; each rotation runs the rotation function's four steps through the local runner, as Secrets
Manager invokes it. The hosted pages are the real handler behind the local gateway.
"""

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect import consent_state
from fortnox_bridge.store.links import token_hash
from local_stack.connect_walk import approve, consent_url
from local_stack.moto_server import REGION
from tests.conftest import LOCAL_API_KEY, Scene

pytestmark = pytest.mark.integration

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class Bridge:
    """The management API, a browser on the hosted pages, and Secrets Manager rotating the signing key."""

    def __init__(self, gateway: Any, runner: Any, deployed: Any) -> None:
        self.url = gateway.url
        self.management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)
        self.runner = runner
        self.secrets = boto3.client("secretsmanager", region_name=REGION)
        self.key_id = next(value for key, value in deployed.physical_ids.items() if key.startswith("ConnectSigningKey"))

    def tenant(self, tenant_id: str) -> None:
        answer = self.management.put(f"/tenants/{tenant_id}", json={"display_name": "Nyckel AB"})
        assert answer.status_code in (200, 201), answer.text

    def connect_link(self, tenant_id: str) -> str:
        answer = self.management.post(f"/tenants/{tenant_id}/connect-links", json={})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["url"])

    def status_link(self, tenant_id: str) -> str:
        answer = self.management.post(f"/tenants/{tenant_id}/status-links", json={"valid_days": 90})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["url"])

    def rotate(self, *, caches_expire: bool = True) -> str:
        """One rotation as Secrets Manager runs it, then (unless told not to) every process's cached copy of the key
        has expired. Returns the new version's id."""
        token = str(uuid.uuid4())
        rotator = self.runner.function("SigningKeyRotation")
        for step in STEPS:
            self.runner.invoke(rotator, {"SecretId": self.key_id, "ClientRequestToken": token, "Step": step})
        if caches_expire:
            wiring.reset()
        return token

    def current_key(self) -> bytes:
        # By its label: moto's unlabelled read keeps answering the version from before a label moved.
        answer = self.secrets.get_secret_value(SecretId=self.key_id, VersionStage="AWSCURRENT")
        return str(answer["SecretString"]).encode()

    def stages(self) -> dict[str, list[str]]:
        described = self.secrets.describe_secret(SecretId=self.key_id)
        return {version: stages for version, stages in described["VersionIdsToStages"].items() if stages}

    def restore(self) -> None:
        """The current label back on the version moto answers unlabelled reads with (it does not follow a moved
        label), so the next test's ``put_secret_value`` moves the label from the version that really holds it."""
        unlabelled = self.secrets.get_secret_value(SecretId=self.key_id)["VersionId"]
        current = next(version for version, stages in self.stages().items() if "AWSCURRENT" in stages)
        if current != unlabelled:
            self.secrets.update_secret_version_stage(
                SecretId=self.key_id, VersionStage="AWSCURRENT", MoveToVersionId=unlabelled, RemoveFromVersionId=current
            )
        wiring.reset()


@pytest.fixture
def bridge(gateway: Any, runner: Any, deployed: Any) -> Iterator[Bridge]:
    bridge = Bridge(gateway, runner, deployed)
    yield bridge
    bridge.restore()


def _callback(bridge: Bridge, state: str) -> httpx.Response:
    return httpx.get(f"{bridge.url}/oauth/callback", params={"state": state, "code": "any-code"}, timeout=30)


def test_a_landing_signed_before_a_rotation_completes_at_the_callback_after_it(
    bridge: Bridge, scene: Scene, unique: str
) -> None:
    company = scene.new_company("Roterad AB")
    bridge.tenant(unique)
    before = bridge.current_key()
    current = next(version for version, stages in bridge.stages().items() if "AWSCURRENT" in stages)
    consent = consent_url(bridge.connect_link(unique))  # the landing page signs the OAuth state
    rotated = bridge.rotate()
    assert bridge.current_key() != before
    # The new key is current, the one that signed the landing is previous, and no rotation is left under way.
    assert (bridge.stages()[rotated], bridge.stages()[current]) == (["AWSCURRENT"], ["AWSPREVIOUS"])
    assert not any("AWSPENDING" in stages for stages in bridge.stages().values())
    callback = httpx.get(approve(consent, company), timeout=30)
    assert callback.status_code == 200 and "Roterad AB" in callback.text
    status = bridge.management.get(f"/tenants/{unique}").json()
    assert (status["state"], status["fortnox_tenant_id"]) == ("connected", company)


def test_a_state_signed_two_rotations_ago_or_by_an_unknown_key_is_refused(
    bridge: Bridge, scene: Scene, unique: str
) -> None:
    company = scene.new_company("Gammal Nyckel AB")
    bridge.tenant(unique)
    link = bridge.connect_link(unique)
    consent = consent_url(link)
    bridge.rotate()
    bridge.rotate()
    refused = httpx.get(approve(consent, company), timeout=30)
    assert refused.status_code == 400 and 'data-kind="forged"' in refused.text
    unknown, _ = consent_state.issue(unique, token_hash(link.rsplit("/", 1)[-1]), b"a key nobody holds", time.time())
    answer = _callback(bridge, unknown)
    assert answer.status_code == 400 and 'data-kind="forged"' in answer.text
    # A key id is read before the signature is checked: whatever text it is, the answer is the same refusal.
    odd = base64.urlsafe_b64encode(json.dumps({"k": "nyckel-ö", "tenant_id": unique}).encode()).decode()
    answer = _callback(bridge, f"{odd.rstrip('=')}.AAAA")
    assert answer.status_code == 400 and 'data-kind="forged"' in answer.text
    assert bridge.management.get(f"/tenants/{unique}").json()["state"] != "connected"


def test_a_process_that_has_not_seen_the_rotation_verifies_a_state_signed_with_the_new_key(
    bridge: Bridge, scene: Scene, unique: str
) -> None:
    """Each process keeps the key for minutes: one that read it before a rotation meets a state another process
    signed with the new key, and reads the key again instead of refusing the person."""
    company = scene.new_company("Ny Nyckel AB")
    bridge.tenant(unique)
    link = bridge.connect_link(unique)  # the hosted handler's process has read (and keeps) the key
    consent_url(link)
    bridge.rotate(caches_expire=False)
    state, _ = consent_state.issue(unique, token_hash(link.rsplit("/", 1)[-1]), bridge.current_key(), time.time())
    consent = str(httpx.URL(consent_url(link)).copy_set_param("state", state))
    callback = httpx.get(approve(consent, company), timeout=30)
    assert callback.status_code == 200 and "Ny Nyckel AB" in callback.text


def test_a_status_link_survives_a_rotation_and_not_two(bridge: Bridge, unique: str) -> None:
    bridge.tenant(unique)
    link = bridge.status_link(unique)
    assert httpx.get(link, timeout=30).status_code == 200
    bridge.rotate()
    survived = httpx.get(link, timeout=30)
    assert survived.status_code == 200, survived.text
    assert httpx.get(bridge.status_link(unique), timeout=30).status_code == 200  # signed with the new key
    bridge.rotate()
    # Rotations are further apart than the longest link lives (91 days, 90): only a rotation forced early cuts a link.
    cut = httpx.get(link, timeout=30)
    assert cut.status_code == 410 and 'data-kind="rotated"' in cut.text


def test_each_step_may_run_again_and_a_finished_rotation_is_left_alone(bridge: Bridge) -> None:
    rotator = bridge.runner.function("SigningKeyRotation")
    token = str(uuid.uuid4())
    for step in STEPS:
        event = {"SecretId": bridge.key_id, "ClientRequestToken": token, "Step": step}
        bridge.runner.invoke(rotator, event)
        bridge.runner.invoke(rotator, event)  # Secrets Manager retries a step that timed out
    rotated = bridge.current_key()
    for step in STEPS:
        bridge.runner.invoke(rotator, {"SecretId": bridge.key_id, "ClientRequestToken": token, "Step": step})
    assert bridge.current_key() == rotated
    assert bridge.stages()[token] == ["AWSCURRENT"]
    assert not any("AWSPENDING" in stages for stages in bridge.stages().values())
