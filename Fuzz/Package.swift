// swift-tools-version: 6.2
// libFuzzer targets for Hygie's pure parsers. Build and run:
//   scripts/fuzz.sh 60   (see it for the exact build flags)
//
import PackageDescription

let package = Package(
    name: "hygie-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "hygie", path: "..")],
    targets: [
        .executableTarget(
            name: "HygieFuzz",
            dependencies: [.product(name: "HygieCore", package: "hygie")]
        ),
        .executableTarget(
            name: "SigmaFuzz",
            dependencies: [.product(name: "Sigma", package: "hygie")]
        ),
        .executableTarget(
            name: "STIXFuzz",
            dependencies: [.product(name: "STIX", package: "hygie")]
        ),
        .executableTarget(
            name: "AwarenessFuzz",
            dependencies: [.product(name: "AwarenessCore", package: "hygie")]
        ),
        .executableTarget(
            name: "ComplianceFuzz",
            dependencies: [
                .product(name: "ComplianceCore", package: "hygie"), .product(name: "STIX", package: "hygie"),
            ]
        ),
        .executableTarget(
            name: "TriageFuzz",
            dependencies: [.product(name: "MailTriage", package: "hygie")]
        ),
        .executableTarget(
            name: "PrivacyFuzz",
            dependencies: [.product(name: "PrivacyCore", package: "hygie"), .product(name: "STIX", package: "hygie")]
        ),
        .executableTarget(
            name: "FederationFuzz",
            dependencies: [.product(name: "FederationCore", package: "hygie")]
        ),
        .executableTarget(
            name: "VulnFuzz",
            dependencies: [.product(name: "VulnCore", package: "hygie")]
        ),
    ]
)
