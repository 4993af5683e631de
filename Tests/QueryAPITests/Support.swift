@_exported import ServerTestSupport
@_exported import StoreTestSupport
