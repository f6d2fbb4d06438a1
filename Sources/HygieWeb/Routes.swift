import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Every HTML path, declared once: routes register from it and templates' links follow it.
enum SiteRoute {
    case setup, login, logout, mfa, mfaEnrol, mfaEnrolQR
    case dashboard, activityChart, switchEstablishment
    case users, user, userRole, userRemove, userResetMFA
    case departments, departmentDelete
    case tokens, tokenRevoke
    case audit, profile, profileLocale, profilePassword, profileRecoveryCodes
    case adminEstablishments, adminRegions, adminGroups, adminJobs, adminJobRetry
    case stylesheet

    var path: String {
        switch self {
        case .setup: "/setup"
        case .login: "/login"
        case .logout: "/logout"
        case .mfa: "/mfa"
        case .mfaEnrol: "/mfa/enrol"
        case .mfaEnrolQR: "/mfa/enrol/qr.svg"
        case .dashboard: "/dashboard"
        case .activityChart: "/dashboard/activity.svg"
        case .switchEstablishment: "/establishment/switch"
        case .users: "/users"
        case .user: "/users/:id"
        case .userRole: "/users/:id/role"
        case .userRemove: "/users/:id/remove"
        case .userResetMFA: "/users/:id/reset-mfa"
        case .departments: "/departments"
        case .departmentDelete: "/departments/:id/delete"
        case .tokens: "/tokens"
        case .tokenRevoke: "/tokens/:id/revoke"
        case .audit: "/audit"
        case .profile: "/profile"
        case .profileLocale: "/profile/locale"
        case .profilePassword: "/profile/password"
        case .profileRecoveryCodes: "/profile/recovery-codes"
        case .adminEstablishments: "/admin/establishments"
        case .adminRegions: "/admin/regions"
        case .adminGroups: "/admin/groups"
        case .adminJobs: "/admin/jobs"
        case .adminJobRetry: "/admin/jobs/:id/retry"
        case .stylesheet: "/static/hygie.css"
        }
    }
}

extension SiteRoute {
    var routerPath: RouterPath { RouterPath(path) }
}
