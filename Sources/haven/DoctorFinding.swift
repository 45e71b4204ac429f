/// One thing `haven doctor` looked at: fine, worth a look, or to be fixed, with how.
struct DoctorFinding: Encodable, Equatable {
    enum Verdict: String, Encodable {
        case ok, warning, problem
    }

    let verdict: Verdict
    /// What was found, in the operator's words.
    let what: String
    /// What to do about it (nil when fine).
    let fix: String?

    static func ok(_ what: String) -> DoctorFinding { DoctorFinding(verdict: .ok, what: what, fix: nil) }
    static func warning(_ what: String, fix: String) -> DoctorFinding { DoctorFinding(verdict: .warning, what: what, fix: fix) }
    static func problem(_ what: String, fix: String) -> DoctorFinding { DoctorFinding(verdict: .problem, what: what, fix: fix) }

    /// The finding as printed: a verdict column, and the fix under it.
    var printed: String {
        let label = switch verdict {
        case .ok: "ok      "
        case .warning: "WARNING "
        case .problem: "PROBLEM "
        }
        return "\(label) \(what)" + (fix.map { "\n         fix: \($0)" } ?? "")
    }
}
