import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import Mustache
import NIOCore

/// Renders Mustache templates from `Resources/Templates` inside the common layout.
struct Renderer: Sendable {
    let library: MustacheLibrary
    let translations: Translations

    static func load() async throws -> Renderer {
        guard let directory = Bundle.module.url(forResource: "Templates", withExtension: nil, subdirectory: "Resources")
        else { throw HygieWebError.missingResource("Templates") }
        return Renderer(
            library: try await MustacheLibrary(directory: directory.path),
            translations: try Translations(bundle: .module))
    }

    /// A full HTML page. `frame` holds the layout's data, `content` the page's own view.
    func page(_ template: String, frame: PageFrame, content: Any, status: HTTPResponse.Status = .ok) -> Response {
        var object = frame.dictionary(translations.catalog(frame.locale))
        object["page"] = content
        let html = library.render(object, withTemplate: template) ?? "template \(template) missing"
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func errorPage(status: HTTPResponse.Status, message: String, context: HygieRequestContext) -> Response {
        let frame = PageFrame(locale: context.locale, title: "\(status.code)", csrf: context.session?.csrfToken)
        let content: [String: Any] = ["status": status.code, "message": message, "requestID": context.requestID]
        return page("error", frame: frame, content: content, status: status)
    }
}

/// What the layout shows around every page.
struct PageFrame {
    var locale: User.Locale
    var title: String
    var csrf: String?
    var user: User?
    var nav: [NavItem] = []
    var establishments: [(id: String, name: String, selected: Bool)] = []
    var currentEstablishment: String?
    var flash: String?

    struct NavItem {
        let href: String
        let label: String
        let active: Bool
    }

    func dictionary(_ catalog: [String: Any]) -> [String: Any] {
        var result: [String: Any] = [
            "t": catalog, "lang": locale.rawValue, "title": title, "csrf": csrf ?? "",
            "nav": nav.map { ["href": $0.href, "label": $0.label, "active": $0.active] as [String: Any] },
            "establishments": establishments.map {
                ["id": $0.id, "name": $0.name, "selected": $0.selected] as [String: Any]
            },
            "hasSwitcher": establishments.count > 1,
            "otherLang": locale == .fr ? "en" : "fr",
            "otherLangLabel": locale == .fr ? "English" : "Français",
        ]
        if let user { result["user"] = ["name": user.displayName, "email": user.email] }
        if let currentEstablishment { result["currentEstablishment"] = currentEstablishment }
        if let flash { result["flash"] = flash }
        return result
    }
}
