import ArgumentParser
import Configuration
import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Hummingbird
import HummingbirdAuth
import HummingbirdBcrypt
import HummingbirdTLS
import Mustache
import Yams
print("x")
