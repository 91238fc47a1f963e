import BridgeProtocol
import JSONRPC
import Testing

@Suite struct RegistryTests {
  @Test func methodNamesAreUnique() {
    let names = Registry.requests.map { $0.method }
    #expect(Set(names).count == names.count)
  }

  @Test func everyParamsSchemaIsAnObjectSchema() {
    for request in Registry.requests {
      #expect(request.paramsSchema["type"] == "object", "\(request.method)")
    }
  }

  @Test func everyDomainErrorCarriesItsHTTPMapping() {
    let error = BridgeError.fileNotFound("src/x")
    #expect(error.code.rawValue == -32010)
    #expect(error.data == ["httpStatus": 404, "body": ["error": "File not found: src/x"]])
  }
}
