// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "hygie",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hygie", targets: ["HygieCLI"]),
        .library(name: "HygieCore", targets: ["HygieCore"]),
        .library(name: "HygieStorage", targets: ["HygieStorage"]),
        .library(name: "HygieJobs", targets: ["HygieJobs"]),
        .library(name: "HygieWeb", targets: ["HygieWeb"]),
        .library(name: "Sigma", targets: ["Sigma"]),
        .library(name: "STIX", targets: ["STIX"]),
        .library(name: "RecordInput", targets: ["RecordInput"]),
        .library(name: "VulnCore", targets: ["VulnCore"]),
        .library(name: "ComplianceCore", targets: ["ComplianceCore"]),
        .library(name: "AwarenessCore", targets: ["AwarenessCore"]),
        .library(name: "MailTriage", targets: ["MailTriage"]),
        .library(name: "PrivacyCore", targets: ["PrivacyCore"]),
        .library(name: "FederationCore", targets: ["FederationCore"]),
        .library(name: "HygieCompliance", targets: ["HygieCompliance"]),
        .library(name: "HygieAwareness", targets: ["HygieAwareness"]),
        .library(name: "HygieVulnerabilities", targets: ["HygieVulnerabilities"]),
        .library(name: "HygieDetection", targets: ["HygieDetection"]),
        .library(name: "HygieMail", targets: ["HygieMail"]),
        .library(name: "HygieIntel", targets: ["HygieIntel"]),
        .library(name: "HygieIncidents", targets: ["HygieIncidents"]),
        .library(name: "HygiePrivacy", targets: ["HygiePrivacy"]),
        .library(name: "HygieFederation", targets: ["HygieFederation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib"),
        .target(
            name: "RecordInput",
            dependencies: ["CZlib"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Sigma",
            dependencies: ["CZlib", "RecordInput", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "STIX",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "VulnCore",
            dependencies: ["RecordInput", "STIX"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailTriage",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FederationCore",
            dependencies: ["STIX", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PrivacyCore",
            dependencies: ["RecordInput", "STIX", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AwarenessCore",
            dependencies: ["RecordInput", "MailTriage"],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ComplianceCore",
            dependencies: ["STIX", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieStorage",
            dependencies: [
                "HygieCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieJobs",
            dependencies: [
                "HygieCore",
                "HygieStorage",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieWeb",
            dependencies: [
                "HygieCore",
                "HygieFederation",
                "FederationCore",
                "HygieIncidents",
                "HygiePrivacy",
                "PrivacyCore",
                "MailTriage",
                "HygieAwareness",
                "AwarenessCore",
                "HygieCompliance",
                "ComplianceCore",
                "HygieVulnerabilities",
                "VulnCore",
                "HygieDetection",
                "HygieIntel",
                "STIX",
                "HygieStorage",
                "HygieJobs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieMail",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieIntel",
            dependencies: [
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "STIX",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieIncidents",
            dependencies: [
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "HygieIntel",
                "HygieMail",
                "MailTriage",
                "STIX",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygiePrivacy",
            dependencies: [
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "HygieIncidents",
                "PrivacyCore",
                "STIX",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieFederation",
            dependencies: [
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "HygieCompliance",
                "ComplianceCore",
                "HygieIncidents",
                "HygieVulnerabilities",
                "VulnCore",
                "HygieIntel",
                "STIX",
                "FederationCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieVulnerabilities",
            dependencies: [
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "VulnCore",
                "RecordInput",
                "STIX",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieCompliance",
            dependencies: [
                "ComplianceCore",
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "HygieMail",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieAwareness",
            dependencies: [
                "AwarenessCore",
                "HygieIncidents",
                "RecordInput",
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "HygieMail",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieDetection",
            dependencies: [
                "HygieMail",
                "HygieIntel",
                "STIX",
                "HygieCore",
                "HygieStorage",
                "HygieJobs",
                "Sigma",
                "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HygieCLI",
            dependencies: [
                "HygieCore",
                "HygieIncidents",
                "PrivacyCore",
                "HygiePrivacy",
                "HygieFederation",
                "FederationCore",
                "HygieAwareness",
                "AwarenessCore",
                "MailTriage",
                "HygieCompliance",
                "ComplianceCore",
                "HygieMail",
                "HygieIntel",
                "STIX",
                "HygieDetection",
                "HygieStorage",
                "HygieJobs",
                "HygieWeb",
                "HygieVulnerabilities",
                "Sigma",
                "RecordInput",
                "VulnCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HygieTestSupport",
            dependencies: [
                "HygieCore",
                "HygieFederation",
                "HygieIncidents",
                "HygiePrivacy",
                "HygieCompliance",
                "HygieVulnerabilities",
                "HygieDetection",
                "HygieIntel",
                "HygieStorage",
                "HygieJobs",
                "HygieWeb",
                "HygieAwareness",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SigmaTests",
            dependencies: ["Sigma", "RecordInput"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieDetectionTests",
            dependencies: [
                "HygieDetection", "HygieTestSupport", "HygieIntel", "STIX",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MailTriageTests",
            dependencies: ["MailTriage"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PrivacyCoreTests",
            dependencies: ["PrivacyCore", "STIX"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FederationCoreTests",
            dependencies: ["FederationCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieFederationTests",
            dependencies: [
                "HygieFederation", "FederationCore", "HygieCompliance", "HygieIncidents", "HygieTestSupport",
                "HygieCore", "HygieVulnerabilities", "HygieIntel", "VulnCore",
                "HygieStorage", "STIX",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AwarenessCoreTests",
            dependencies: ["AwarenessCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ComplianceCoreTests",
            dependencies: ["ComplianceCore", "STIX"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieComplianceTests",
            dependencies: [
                "HygieCompliance", "ComplianceCore", "HygieTestSupport", "HygieCore", "HygieStorage", "HygieMail",
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VulnCoreTests",
            dependencies: ["VulnCore", "STIX", "RecordInput"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieVulnerabilitiesTests",
            dependencies: [
                "HygieVulnerabilities", "HygieTestSupport", "VulnCore", "HygieStorage", "HygieCore", "RecordInput",
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "STIXTests",
            dependencies: ["STIX"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieIntelTests",
            dependencies: [
                "HygieIntel", "HygieTestSupport", "STIX", "HygieStorage", "HygieCore",
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieAwarenessTests",
            dependencies: [
                "HygieAwareness", "AwarenessCore", "HygieTestSupport", "HygieCore", "HygieStorage", "HygieMail",
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieIncidentsTests",
            dependencies: [
                "HygieIncidents", "HygieAwareness", "MailTriage", "HygieTestSupport", "HygieCore", "HygieStorage",
                "HygieMail", "HygieIntel", "STIX",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygiePrivacyTests",
            dependencies: [
                "HygiePrivacy", "PrivacyCore", "HygieIncidents", "HygieTestSupport", "HygieCore", "HygieStorage",
                "STIX",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieMailTests",
            dependencies: ["HygieMail", "HygieTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieCoreTests",
            dependencies: ["HygieCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieStorageTests",
            dependencies: [
                "HygieStorage", "HygieTestSupport",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieJobsTests",
            dependencies: [
                "HygieJobs", "HygieTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HygieWebTests",
            dependencies: [
                "HygieWeb", "HygieTestSupport", "HygieDetection", "HygieStorage", "HygieCore", "HygieVulnerabilities",
                "HygieCompliance",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
