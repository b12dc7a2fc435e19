"""The GraphQL texts the end-to-end tests send to the webserver, validated against the installed Dagster's
schema by test_queries.py (no server needed), so a Dagster upgrade that changes the schema fails fast."""

JOB_ASSETS = """
query JobAssets($pipeline: PipelineSelector!) {
  assetNodes(pipeline: $pipeline) {
    assetKey { path }
    groupName
    hasAssetChecks
    isPartitioned
  }
}
"""
LAUNCH_BACKFILL = """
mutation LaunchBackfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PartitionKeysNotFoundError { message partitionKeys }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message stack }
  }
}
"""
BACKFILL_STATUS = """
query BackfillStatus($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      id
      status
      isAssetBackfill
      numPartitions
      partitionNames
      error { message }
      runs(limit: 100) { runId status startTime endTime tags { key value } assetSelection { path } }
    }
    ... on BackfillNotFoundError { message }
    ... on PythonError { message }
  }
}
"""
MATERIALISATIONS = """
query Materialisations($pipeline: PipelineSelector!, $partitions: [String!]) {
  assetNodes(pipeline: $pipeline) {
    assetKey { path }
    latestMaterializationByPartition(partitions: $partitions) {
      partition
      runId
      metadataEntries { label ... on IntMetadataEntry { intValue } }
    }
  }
}
"""
ASSET_CHECKS = """
query AssetChecks($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      assetChecksOrError { ... on AssetChecks { checks { name blocking executionForLatestMaterialization { status } } } }
    }
  }
}
"""
CHECK_EXECUTIONS = """
query Executions($assetKey: AssetKeyInput!, $checkName: String!, $partition: String) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 20, partition: $partition) {
    status partition evaluation { partition severity description metadataEntries { label } }
  }
}
"""
FRESHNESS = """
query Freshness($pipeline: PipelineSelector!) {
  assetNodes(pipeline: $pipeline) {
    assetKey { path }
    internalFreshnessPolicy { __typename ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone } }
    freshnessStatusInfo { freshnessStatus freshnessStatusMetadata { lastMaterializedTimestamp } }
    assetMaterializations(limit: 1) { runId }
  }
}
"""
RETRY_BACKFILL = """
mutation RetryBackfill($params: ReexecutionParams!) {
  reexecutePartitionBackfill(reexecutionParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on UnauthorizedError { message }
    ... on PythonError { message stack }
  }
}
"""
SET_NUX_SEEN = "mutation SetNuxSeen { setNuxSeen }"  # what the UI's community pop-up "Skip" does

ALL = [JOB_ASSETS, LAUNCH_BACKFILL, BACKFILL_STATUS, MATERIALISATIONS, ASSET_CHECKS, FRESHNESS, RETRY_BACKFILL, SET_NUX_SEEN]
