import Foundation

/// Rules for the pseudonym a member shows (and, for the visibility rules, a room's name). The
/// widget's names.js applies the same rules before anything is sent; Vectors/names.json holds the
/// cases both must judge alike.
public enum DisplayName {
    /// Check marks and their look-alikes: a name must not pass for the verified-staff badge.
    public static let checkMarks: Set<Unicode.Scalar> = [
        "\u{2713}", "\u{2714}", "\u{2705}", "\u{2611}", "\u{221A}", "\u{237B}", "\u{1F5F8}", "\u{1F5F9}",
    ]
    /// Blank letters and invisible joiners that are not format characters (Cf).
    static let fillers: Set<Unicode.Scalar> = ["\u{034F}", "\u{115F}", "\u{1160}", "\u{17B4}", "\u{17B5}", "\u{180E}", "\u{3164}", "\u{FFA0}"]
    /// The two format characters a name may hold: the joiners Persian, Indic scripts and emoji sequences need.
    static let joiners: Set<Unicode.Scalar> = ["\u{200C}", "\u{200D}"]
    /// Words that name a role, refused as whole words (or plurals).
    public static let roleWords: Set<String> = ["staff", "admin", "mod", "official", "verified", "doctor", "dr", "nurse"]
    /// Longer role words, refused even inside another word ("TheCounsellor").
    public static let roleStems = ["counsellor", "counselor", "moderator", "administrator", "therapist", "psychologist", "psychiatrist", "helpline"]
    /// Letters and digits read as Latin letters ("1", "|" and "!" are read both as l and as i).
    static let lookAlikes: [Character: Character] = [
        "а": "a", "с": "c", "е": "e", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "о": "o", "р": "p", "х": "x", "у": "y", "һ": "h",
        "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i",
        "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ı": "i", "ɡ": "g", "ɩ": "i", "ʟ": "l",
        "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s", "@": "a",
    ]
    static let eitherLOrI: Set<Character> = ["1", "|", "!"]

    /// Throws unless `name` is 1-64 UTF-8 bytes with something visible in it, without control
    /// characters, invisible formatting characters or blank fillers (which can make a name read
    /// as something else), or check marks.
    public static func validate(_ name: String, field: String = "displayName") throws(ProtocolError) {
        let size = name.utf8.count
        guard size <= ProtocolLimits.maxDisplayNameBytes else {
            throw .fieldTooLarge(field: field, size: size, limit: ProtocolLimits.maxDisplayNameBytes)
        }
        guard size > 0, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidField(field, reason: "must be 1-\(ProtocolLimits.maxDisplayNameBytes) bytes without control characters")
        }
        guard !name.unicodeScalars.contains(where: { isHidden($0) || fillers.contains($0) || checkMarks.contains($0) }) else {
            throw .invalidField(field, reason: "must not contain invisible formatting characters or check marks, which could pass for a verified badge")
        }
        guard name.unicodeScalars.contains(where: { !isUnseen($0) }) else {
            throw .invalidField(field, reason: "must contain a letter, digit or emoji")
        }
    }

    /// ``validate(_:field:)``, and a person's name must not claim a role (``claimedRole(_:)``).
    public static func validateMember(_ name: String, field: String = "displayName") throws(ProtocolError) {
        try validate(name, field: field)
        guard claimedRole(name) == nil else {
            throw .invalidField(field, reason: "must not contain a word for a role (counsellor, moderator, staff...): the verified badge shows who is staff")
        }
    }

    /// The role word `name` claims, however it is spelt (compatibility forms, look-alike letters,
    /// digits for letters, marks and spacing in between), or nil.
    public static func claimedRole(_ name: String) -> String? {
        var letters: [Character] = []
        for scalar in name.precomposedStringWithCompatibilityMapping.lowercased().unicodeScalars {
            if scalar.properties.isWhitespace { letters.append(" ") } else if !isUnseen(scalar) { letters.append(Character(scalar)) }
        }
        for reading in ["l", "i"] as [Character] {
            let skeleton = String(letters.map { eitherLOrI.contains($0) ? reading : lookAlikes[$0] ?? $0 })
            let words = skeleton.split { !$0.isLetter }.map(String.init)
            if let word = words.first(where: { roleWords.contains($0) || ($0.hasSuffix("s") && roleWords.contains(String($0.dropLast()))) }) {
                return word
            }
            let joined = words.joined()
            if let stem = roleStems.first(where: { joined.contains($0) }) { return stem }
        }
        return nil
    }

    /// A format character other than the two joiners.
    private static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .format && !joiners.contains(scalar)
    }

    /// Nothing a reader sees: marks, format characters, variation selectors, spaces, fillers.
    private static func isUnseen(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return scalar.properties.isWhitespace || (0xFE00...0xFE0F).contains(scalar.value) || fillers.contains(scalar)
        }
    }
}
