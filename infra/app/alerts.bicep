// Alert rules on RoomCal's own metrics (shared/metrics.py sends them as Application Insights customMetrics).
// Each rule names what to do in its description; docs/deploy.md has the runbook.

@description('Application Insights component id (the rules\' scope).')
param applicationInsightsId string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Name prefix for the rules.')
param namePrefix string

@description('E-mail address for alert notifications; empty creates no action group (alerts still show in the portal).')
param alertEmail string = ''

@description('A room whose last successful sync is older than this many minutes raises the sync-lag alert (catch-up runs every 15).')
@minValue(15)
param syncLagMinutes int = 45

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-ops'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'roomcal'
    enabled: true
    emailReceivers: [
      { name: 'operator', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
  }
}

var actions = empty(alertEmail) ? [] : [actionGroup.id]

var rules = [
  {
    name: 'poison-messages'
    severity: 1
    description: 'A queue message failed maxDequeueCount times and went to a -poison queue. Read the message (tenant and room only), fix the cause, then move it back or delete it (docs/deploy.md, Runbook).'
    query: 'customMetrics | where name == "roomcal.poison_messages" | summarize count_ = sum(valueSum) by tostring(customDimensions.queue) | where count_ > 0'
    window: 'PT15M'
    threshold: 0
  }
  {
    name: 'subscription-failures'
    severity: 2
    description: 'Creating or renewing Graph subscriptions failed. Rooms fall back to the 15-minute catch-up; check consent and the Exchange RBAC scope of the tenant named in the dimensions.'
    query: 'customMetrics | where name == "roomcal.subscription_failures" | summarize count_ = sum(valueSum) by tostring(customDimensions.tenant), tostring(customDimensions.reason) | where count_ > 0'
    window: 'PT1H'
    threshold: 0
  }
  {
    name: 'sync-lag'
    severity: 2
    description: 'A room has not synced successfully for longer than the threshold. Check the room\'s sync status (GET /api/tenants/{tenant}/rooms) and Graph throttling.'
    query: 'customMetrics | where name == "roomcal.sync_lag_seconds" | summarize lag = max(valueMax) by tostring(customDimensions.tenant), tostring(customDimensions.room) | where lag > ${syncLagMinutes * 60}'
    window: 'PT1H'
    threshold: 0
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: 'RoomCal: ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [applicationInsightsId]
      evaluationFrequency: 'PT15M'
      windowSize: rule.window
      autoMitigate: true
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: rule.threshold
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      actions: { actionGroups: actions }
    }
  }
]
