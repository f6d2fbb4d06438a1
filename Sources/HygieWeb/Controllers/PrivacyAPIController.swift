import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygiePrivacy
import HygieStorage
import NIOCore
import PrivacyCore

/// `/api/v1/fhir` — FHIR R4 AuditEvent intake (create, transaction and batch Bundles, NDJSON bulk), answered
/// the FHIR way (OperationOutcome, transaction-response Bundle); `/api/v1/privacy` — context imports, EHR
/// exports, the privacy officer's queue and decisions, patient reports and statistics.
struct PrivacyAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var privacy: PrivacyService { services.privacy }

    var operations: [APIOperation] {
        let fhir = APIOperation.tagged("fhir")
        let op = APIOperation.tagged("privacy")
        let base = "/api/v1/privacy"
        return [
            fhir(
                .get, "/api/v1/fhir/metadata", "CapabilityStatement (AuditEvent create, transaction, batch)", nil,
                "Object", 200, metadata),
            fhir(
                .post, "/api/v1/fhir/AuditEvent",
                "Store an AuditEvent (application/fhir+json) or NDJSON bulk (application/fhir+ndjson)", "Object",
                "Object", 201, createAuditEvent),
            fhir(
                .post, "/api/v1/fhir", "A transaction or batch Bundle of AuditEvents", "Object", "Object", 200, bundle),
            op(
                .post, "\(base)/accesses", "An EHR access export (CSV, ?map=time=…,user=…,patient=…)", "Object",
                "Object", 200, accessCSV),
            op(
                .post, "\(base)/context/{kind}",
                "Import departments, staff, patients, encounters, care_events, vip or staff_patients (CSV body)",
                "Object", "Object", 200,
                importContext),
            op(
                .post, "\(base)/adt", "Import HL7 v2 ADT messages (a file, MLLP-framed or not)", "Object", "Object",
                200, importADT),
            op(.post, "\(base)/analyze", "Analyse pending accesses now", nil, "Object", 200, analyze),
            op(
                .get, "\(base)/incidents", "Incidents for review, highest score first (status=…; dpo)", nil, "Object",
                200, incidents),
            op(
                .get, "\(base)/incidents/{id}", "An incident with its flagged accesses (dpo; audited)", nil, "Object",
                200, incident),
            op(
                .post, "\(base)/incidents/{id}/decision",
                "Decide {status: legitimate|inappropriate|interview, notes, open_case} (dpo)", "Object", "Object", 200,
                decide),
            op(
                .get, "\(base)/incidents/{id}/export", "The incident file, patients re-identified (dpo; audited)", nil,
                "Object", 200, export),
            op(
                .get, "\(base)/patients/{key}", "The patient behind a pseudonym (dpo; audited)", nil, "Object", 200,
                reidentify),
            op(
                .get, "\(base)/patient-report", "Who accessed a patient's record (?patient_id=…; dpo; audited)", nil,
                "Object", 200, patientReport),
            op(
                .get, "\(base)/statistics", "Monthly counts, explanations, patterns, decisions (?months=)", nil,
                "Object", 200, statistics),
            op(.get, "\(base)/settings", "Analysis settings", nil, "Object", 200, settings),
            op(.put, "\(base)/settings", "Change the analysis settings", "Object", "Object", 200, saveSettings),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    // MARK: FHIR

    static func fhirResponse(_ object: [String: Any], status: HTTPResponse.Status, location: String? = nil) -> Response
    {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/fhir+json; charset=utf-8"]
        if let location { headers[.location] = location }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func outcome(_ issues: [FHIRIssue], severity: String = "error") -> [String: Any] {
        [
            "resourceType": "OperationOutcome",
            "issue": issues.map {
                ["severity": severity, "code": $0.code, "diagnostics": $0.diagnostics, "expression": [$0.expression]]
            },
        ]
    }

    static func information(_ text: String) -> [String: Any] {
        outcome(
            [FHIRIssue(code: "informational", diagnostics: text, expression: "AuditEvent")], severity: "information")
    }

    func body(_ request: Request, _ context: HygieRequestContext) async throws -> [UInt8] {
        var request = request
        do {
            return Array(try await request.collectBody(upTo: context.maxUploadSize).readableBytesView)
        } catch {
            throw HygieWebError.payloadTooLarge(limit: context.maxUploadSize)
        }
    }

    /// Runs a FHIR interaction; refused input becomes an OperationOutcome (400), not an HTML or JSON error.
    func fhirInteraction(_ body: () async throws -> Response) async throws -> Response {
        do { return try await body() } catch let error as FHIRError {
            return Self.fhirResponse(Self.outcome(error.issues), status: .badRequest)
        } catch let error as PrivacyError {
            return Self.fhirResponse(
                Self.outcome([FHIRIssue(code: "processing", diagnostics: error.publicMessage, expression: "AuditEvent")]
                ),
                status: .unprocessableContent)
        }
    }

    func metadata(_ request: Request, context: HygieRequestContext) async throws -> Response {
        Self.fhirResponse(
            [
                "resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1",
                "format": ["application/fhir+json", "application/fhir+ndjson"],
                "software": ["name": "Hygie", "version": "0.1"],
                "rest": [
                    [
                        "mode": "server",
                        "security": [
                            "description": "Bearer token of an establishment (role admin, rssi, dpo or analyst)"
                        ],
                        "resource": [["type": "AuditEvent", "interaction": [["code": "create"]]]],
                        "interaction": [["code": "transaction"], ["code": "batch"]],
                    ]
                ],
            ], status: .ok)
    }

    func createAuditEvent(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        let ndjson = contentType.contains("ndjson") || request.uri.queryParameters.get("_format") == "ndjson"
        let bytes = try await body(request, context)
        return try await fhirInteraction {
            let result = try await privacy.ingestFHIR(bytes, ndjson: ndjson, in: scope)
            if ndjson {
                return Self.fhirResponse(
                    Self.information(
                        "\(result.result.accepted) stored, \(result.result.duplicates) already received, "
                            + "\(result.result.ignored) without a patient access"), status: .ok)
            }
            guard let id = result.entries.first?.eventID else {
                return Self.fhirResponse(
                    Self.information("valid AuditEvent without a patient access: not kept"), status: .ok)
            }
            return Self.fhirResponse(
                Self.information(result.result.accepted == 1 ? "stored" : "already received"),
                status: result.result.accepted == 1 ? .created : .ok, location: "AuditEvent/\(id)")
        }
    }

    func bundle(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let bytes = try await body(request, context)
        return try await fhirInteraction {
            let result = try await privacy.ingestFHIR(bytes, ndjson: false, in: scope)
            guard result.kind == .transaction || result.kind == .batch else {
                throw FHIRError("invalid", "POST a Bundle here; single AuditEvents go to /AuditEvent", at: "Bundle")
            }
            let entries: [[String: Any]] = result.entries.map { entry in
                if !entry.issues.isEmpty {
                    return ["response": ["status": "400 Bad Request", "outcome": Self.outcome(entry.issues)]]
                }
                guard let id = entry.eventID else { return ["response": ["status": "200 OK"]] }
                return ["response": ["status": "201 Created", "location": "AuditEvent/\(id)"]]
            }
            return Self.fhirResponse(
                [
                    "resourceType": "Bundle",
                    "type": result.kind == .batch ? "batch-response" : "transaction-response", "entry": entries,
                ], status: .ok)
        }
    }

    // MARK: Imports

    func accessCSV(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let map = request.uri.queryParameters.get("map").map { String($0) }
        return try JSONResponse.make(
            try await privacy.ingestCSV(try await body(request, context), mapping: map, in: scope))
    }

    func importContext(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        guard let kind = context.parameters.get("kind").flatMap(ContextKind.init(rawValue:)) else {
            throw HygieWebError.badRequest(
                "kind is departments, staff, patients, encounters, care_events, vip or staff_patients")
        }
        return try JSONResponse.make(try await privacy.importContext(kind, try await body(request, context), in: scope))
    }

    func importADT(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(try await privacy.importADT(try await body(request, context), in: scope))
    }

    func analyze(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        try scope.require([.admin, .rssi, .dpo])
        return try JSONResponse.make(["analysed": try await privacy.analyzeBacklog()])
    }

    // MARK: Review

    func incidents(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let status = try request.uri.queryParameters.get("status").map { text in
            guard let status = PrivacyIncidentStatus(rawValue: String(text)) else {
                throw HygieWebError.badRequest("status is open, legitimate, inappropriate or interview")
            }
            return status
        }
        return try JSONResponse.make(["incidents": try await privacy.incidents(status: status, in: scope)])
    }

    func incident(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(
            try await privacy.incident(try context.int64Parameter(what: "incident"), in: scope))
    }

    struct DecisionBody: Decodable {
        var status: String
        var notes: String?
        var openCase: Bool?
        var language: String?
    }

    func decide(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(DecisionBody.self, request, context)
        guard let status = PrivacyIncidentStatus(rawValue: body.status) else {
            throw HygieWebError.badRequest("status is legitimate, inappropriate or interview")
        }
        return try JSONResponse.make(
            try await privacy.decide(
                try context.int64Parameter(what: "incident"), status, notes: body.notes ?? "",
                openCase: body.openCase ?? false, language: body.language ?? "fr", in: scope))
    }

    func export(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(try await privacy.export(try context.int64Parameter(what: "incident"), in: scope))
    }

    func reidentify(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        guard let key = context.parameters.get("key") else { throw HygieCoreError.notFound("patient") }
        return try JSONResponse.make(try await privacy.reidentify(key, in: scope))
    }

    struct PatientReport: Encodable {
        var patientKey: String
        var accesses: [AccessLine]
    }

    func patientReport(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let id = request.uri.queryParameters.get("patient_id").map { String($0) } ?? ""
        let (key, lines) = try await privacy.accesses(ofPatient: id, in: scope)
        return try JSONResponse.make(PatientReport(patientKey: key, accesses: lines))
    }

    func statistics(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let months = request.uri.queryParameters.get("months").flatMap { Int($0) } ?? 12
        return try JSONResponse.make(try await privacy.statistics(months: months, in: scope))
    }

    func settings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(try await privacy.settings(in: try core.scope(request, context)))
    }

    func saveSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let settings = try await core.decode(PrivacySettings.self, request, context)
        return try JSONResponse.make(try await privacy.updateSettings(settings, in: scope))
    }
}
