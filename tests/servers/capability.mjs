// CapabilityStatement served at GET /fhir/metadata.

export function capabilityStatement(baseUrl, resourceTypes, name) {
  const interactions = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
    software: { name: `fhir-migrate test server${name ? ` (${name})` : ''}`, version: 'medplum-fhir-router-4.5.2' },
    implementation: { description: 'Loopback FHIR R4 test server for fhir-migrate', url: baseUrl },
    rest: [
      {
        mode: 'server',
        resource: [...resourceTypes].sort().map((type) => ({
          type,
          interaction: interactions.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'single',
          searchParam: [
            { name: '_lastUpdated', type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated' },
            { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
          ],
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
        searchParam: [
          { name: '_lastUpdated', type: 'date' },
          { name: '_id', type: 'token' },
          { name: '_type', type: 'token' },
        ],
        operation: [
          { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
          { name: 'patient-export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' },
          { name: 'group-export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' },
          { name: 'import', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import' },
        ],
      },
    ],
  };
}
