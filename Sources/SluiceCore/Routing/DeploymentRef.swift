/// One deployment of a configured model: the model's name and the deployment's place in its
/// `deployments` list. Cooldowns are kept per deployment.
public struct DeploymentRef: Hashable, Sendable, CustomStringConvertible {
    public let model: String
    public let index: Int

    public init(model: String, index: Int) {
        self.model = model
        self.index = index
    }

    public var description: String { "\(model)#\(index)" }
}
