// The operator's dashboard: an Azure Monitor workbook over Application Insights (infra/workbook/roomcal.workbook.json,
// also importable by hand: Azure portal → Monitor → Workbooks → New → Advanced editor → paste).

@description('Application Insights component id the workbook reads.')
param applicationInsightsId string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'roomcal-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'RoomCal operations'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: loadTextContent('../workbook/roomcal.workbook.json')
  }
}

output id string = workbook.id
