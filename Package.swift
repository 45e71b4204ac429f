// swift-tools-version:6.0
import Foundation
import PackageDescription

/// One set of compiler settings for every target, as Hummingbird does.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Haven",
    products: [
        .executable(name: "haven", targets: ["haven"]),
        .library(name: "Sodium", targets: ["Sodium"]),
        .library(name: "HavenProtocol", targets: ["HavenProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C libraries from Debian: module map + shim header, no logic.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHTTPParser", providers: [.apt(["libhttp-parser-dev"])]),
        .systemLibrary(name: "CWslay", providers: [.apt(["libwslay-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // No pkgConfig: hiredis.pc adds -D_FILE_OFFSET_BITS=64, a flag SwiftPM refuses.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),

        // Safe Swift over each C library, one wrapper per library.
        .target(name: "Sodium", dependencies: ["CSodium"], swiftSettings: swiftSettings),
        .target(name: "Postgres", dependencies: ["CPostgres"], swiftSettings: swiftSettings),
        .target(name: "Redis", dependencies: ["CHiredis"], swiftSettings: swiftSettings),
        .target(name: "HavenStore", dependencies: ["CSQLite", "Postgres"], swiftSettings: swiftSettings),
        .target(name: "HavenNet", dependencies: ["CUV", "CHTTPParser", "CWslay", "CCrypto"], swiftSettings: swiftSettings),

        // Haven itself.
        .target(name: "HavenProtocol", dependencies: ["Sodium"], swiftSettings: swiftSettings),
        .target(
            name: "HavenServer", dependencies: ["HavenNet", "HavenStore", "Redis", "HavenProtocol", "Sodium"], swiftSettings: swiftSettings),
        .target(name: "HavenClient", dependencies: ["HavenNet", "HavenProtocol", "Sodium"], swiftSettings: swiftSettings),
        .target(name: "HavenKeys", dependencies: ["HavenProtocol", "Sodium"], swiftSettings: swiftSettings),
        .target(name: "HavenBackup", dependencies: ["HavenStore", "Sodium"], swiftSettings: swiftSettings),
        .target(
            name: "HavenBench",
            dependencies: [
                "HavenNet", "HavenProtocol", "HavenStore", "HavenClient", "Sodium", .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "haven",
            dependencies: [
                "Sodium", "HavenProtocol", "HavenStore", "HavenNet", "HavenServer", "HavenClient", "HavenBench", "HavenKeys", "HavenBackup", "Redis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "SodiumTests", dependencies: ["Sodium"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HavenProtocolTests",
            dependencies: ["HavenProtocol", "Sodium"],
            resources: [.copy("Vectors")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HavenKeysTests", dependencies: ["HavenKeys", "Sodium"], swiftSettings: swiftSettings),
        .testTarget(name: "HavenBackupTests", dependencies: ["HavenBackup", "HavenStore", "Sodium"], swiftSettings: swiftSettings),
        // A SQLite VFS that loses power, for the store's power-loss test.
        .target(name: "CFaultVFS", path: "Tests/CFaultVFS"),
        .testTarget(
            name: "HavenStoreTests", dependencies: ["HavenStore", "Postgres", "HavenNet", "HavenTestSupport", "CFaultVFS", "Sodium"],
            swiftSettings: swiftSettings),
        .testTarget(name: "HavenNetTests", dependencies: ["HavenNet", "HavenTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "HavenTestSupport"], swiftSettings: swiftSettings),
        .target(
            name: "HavenTestSupport", dependencies: ["HavenServer", "HavenClient", "HavenNet", "HavenProtocol", "HavenStore", "Redis", "Sodium"],
            path: "Tests/HavenTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "HavenServerTests",
            dependencies: [
                "HavenTestSupport", "HavenServer", "HavenClient", "HavenNet", "HavenProtocol", "HavenStore", "HavenKeys", "HavenBackup", "Sodium",
            ],
            swiftSettings: swiftSettings),
    ]
)

// Fuzz targets, declared only for Scripts/fuzz.sh (HAVEN_FUZZ=1): they call libFuzzer's driver,
// which only a -sanitize=fuzzer build links.
if ProcessInfo.processInfo.environment["HAVEN_FUZZ"] != nil {
    // The entry point is each target's @_cdecl("<Module>_main"), which runs libFuzzer's driver.
    let fuzzSettings = swiftSettings + [.unsafeFlags(["-parse-as-library"])]
    package.targets += [
        .target(name: "CLibFuzzer", path: "Tests/Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "FuzzFrames", dependencies: ["CLibFuzzer", "HavenProtocol"], path: "Tests/Fuzz/FuzzFrames", swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzHTTP", dependencies: ["CLibFuzzer", "HavenNet"], path: "Tests/Fuzz/FuzzHTTP", swiftSettings: fuzzSettings),
    ]
}
