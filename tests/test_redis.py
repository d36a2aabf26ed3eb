import pytest
from conftest import evaluate

from components._validation import InvalidArgs
from components.redis import RedisSettings
from offline.evaluate import is_secret


def test_single_node_is_encrypted_and_authenticated(staging):
    rg = staging.named("redis-group")
    key = staging.named("redis-key").outputs["arn"]
    assert rg.input("engine") == "redis" and rg.input("engineVersion") == "7.1"
    assert rg.input("numCacheClusters") == 1
    assert rg.input("automaticFailoverEnabled") is False and rg.input("multiAzEnabled") is False
    assert rg.input("transitEncryptionEnabled") is True and rg.input("transitEncryptionMode") == "required"
    assert rg.input("atRestEncryptionEnabled") is True and rg.input("kmsKeyId") == key
    assert is_secret(rg.inputs["authToken"])
    assert rg.input("securityGroupIds") == [staging.named("network-cache-sg").outputs["id"]]
    assert rg.input("subnetGroupName") == staging.named("redis-subnets").outputs["name"]
    assert rg.input("parameterGroupName") == staging.named("redis-params").outputs["name"]
    assert rg.input("snapshotRetentionLimit") == 1 and rg.input("snapshotWindow") == "05:00-06:00"
    delivery = rg.input("logDeliveryConfigurations")
    assert delivery == [{"destination": staging.named("redis-slow-log").outputs["name"],
                         "destinationType": "cloudwatch-logs", "logFormat": "json", "logType": "slow-log"}]


def test_two_nodes_fail_over_across_azs(production):
    rg = production.named("redis-group")
    assert rg.input("numCacheClusters") == 2
    assert rg.input("automaticFailoverEnabled") is True and rg.input("multiAzEnabled") is True
    assert rg.input("preferredCacheClusterAzs") == ["us-east-1a", "us-east-1b"]
    assert rg.input("snapshotRetentionLimit") == 7


def test_parameter_group_family_and_policy(staging):
    params = staging.named("redis-params")
    assert params.input("family") == "redis7"
    assert params.input("parameters") == [{"name": "maxmemory-policy", "value": "volatile-lru"}]


def test_cluster_mode_shards_like_project_spark():
    g = evaluate(redisClusterMode="true", redisShards="3", redisReplicasPerShard="0")
    rg = g.named("redis-group")
    assert rg.input("clusterMode") == "enabled"
    assert rg.input("numNodeGroups") == 3 and rg.input("replicasPerNodeGroup") == 0
    assert rg.input("automaticFailoverEnabled") is True and rg.input("multiAzEnabled") is False
    assert "numCacheClusters" not in rg.inputs
    assert {"name": "cluster-enabled", "value": "yes"} in g.named("redis-params").input("parameters")
    assert g.stack_outputs["redisUrl"]["value"].startswith("rediss://:")
    assert "@clustercfg." in g.stack_outputs["redisUrl"]["value"]


def test_valkey_engine():
    g = evaluate(redisEngine="valkey", redisEngineVersion="8.0")
    assert g.named("redis-group").input("engine") == "valkey"
    assert g.named("redis-params").input("family") == "valkey8"


def test_url_and_token_are_secret(any_stack):
    url = any_stack.stack_outputs["redisUrl"]
    assert is_secret(url)
    primary = any_stack.named("redis-group").outputs["primaryEndpointAddress"]
    assert url["value"].endswith(f"@{primary}:6379")
    assert is_secret(any_stack.named("redis-auth-token-version").inputs["secretString"])
    assert any_stack.stack_outputs["redisReaderEndpoint"].startswith("replica.")


def test_disabled_redis_creates_nothing():
    g = evaluate(redisEnabled="false")
    assert [r for r in g.resources if r.name.startswith("redis")] == []
    assert "network-cache-sg" not in [r.name for r in g.resources]


@pytest.mark.parametrize("kwargs, field", [
    ({"engine": "memcached"}, "engine"),
    ({"engine": "valkey", "engine_version": "7.1"}, "engine_version"),
    ({"node_type": "t4g.micro"}, "node_type"),
    ({"nodes": 0}, "nodes"),
    ({"nodes": 7}, "nodes"),
    ({"shards": 0}, "shards"),
    ({"replicas_per_shard": 6}, "replicas_per_shard"),
    ({"snapshot_retention_days": 36}, "snapshot_retention_days"),
    ({"snapshot_window": "05:00-05:30"}, "snapshot_window"),
    ({"maintenance_window": "sun:05:00-sun:05:30"}, "maintenance_window"),
    ({"maxmemory_policy": "lru"}, "maxmemory_policy"),
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        RedisSettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]
