import NIOHTTP1
import SluiceCore

/// One deployment resolved for a call: the provider to reach, how, and the model name there.
public struct UpstreamTarget: Sendable {
    public var providerName: String
    public var provider: ProviderConfig
    public var apiKey: Secret?
    /// The model name the provider knows.
    public var model: String

    public init(providerName: String, provider: ProviderConfig, apiKey: Secret?, model: String) {
        self.providerName = providerName
        self.provider = provider
        self.apiKey = apiKey
        self.model = model
    }

    /// The full URL for an OpenAI path such as `/chat/completions`. Azure OpenAI (a provider with
    /// `deployment`) puts the deployment in the path and `api-version` in the query.
    public func url(for path: String) -> String {
        var url = provider.baseURL
        if let deployment = provider.deployment {
            url += "/openai/deployments/" + deployment
        }
        url += path
        if let version = provider.apiVersion {
            url += "?api-version=" + version
        }
        return url
    }

    /// The headers of every call to this target, on either client: JSON in, JSON or SSE back,
    /// the caller's request id, and the provider's key (Azure's `api-key` or a Bearer token).
    public func requestHeaders(requestID: String) -> HTTPHeaders {
        var headers = baseRequestHeaders
        headers.add(name: "X-Request-Id", value: requestID)
        return headers
    }

    /// `requestHeaders` but the request id: the same for every call to this provider.
    public var baseRequestHeaders: HTTPHeaders {
        var headers: HTTPHeaders = [
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        ]
        if let apiKey {
            if provider.deployment != nil {
                headers.add(name: "api-key", value: apiKey.value)
            } else {
                headers.add(name: "Authorization", value: "Bearer " + apiKey.value)
            }
        }
        return headers
    }
}
