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
    /// Letters and digits read as the Latin letters they look like (names.js has the same table).
    static let lookAlikes: [Unicode.Scalar: Unicode.Scalar] = [
        "а": "a", "с": "c", "е": "e", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "о": "o", "р": "p", "х": "x", "у": "y", "һ": "h",
        "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t", "п": "n", "г": "r", "α": "a", "β": "b", "ε": "e",
        "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ı": "i", "ɡ": "g",
        "ɩ": "i", "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b",
        "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l",
        "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
        "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s", "@": "a",
    ]
    /// Letters in squares and circles that no normalisation takes apart (🅲, 🄲, 🅒): the first of each run of 26.
    static let boxedLetters: [UInt32] = [0x1F130, 0x1F150, 0x1F170]
    /// "1", "|" and "!" read as l or as i, and a capital I looks like an l: every reading is checked.
    static let eitherLOrI: Set<Unicode.Scalar> = ["1", "|", "!"]
    static let readings: [(ambiguous: Unicode.Scalar, i: Unicode.Scalar)] = [("l", "i"), ("i", "i"), ("l", "l")]

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

    /// The role word `name` claims, however it is spelt (compatibility forms taken apart, marks
    /// dropped, look-alike letters and digits read as Latin, spacing in between ignored), or nil.
    public static func claimedRole(_ name: String) -> String? {
        var letters: [Unicode.Scalar] = []
        for scalar in name.decomposedStringWithCompatibilityMapping.lowercased().unicodeScalars {
            if scalar.properties.isWhitespace { letters.append(" ") } else if !isUnseen(scalar) { letters.append(plainLetter(scalar)) }
        }
        for reading in readings {
            var words: [String] = []
            var word = String.UnicodeScalarView()
            for scalar in letters {
                let read = eitherLOrI.contains(scalar) ? reading.ambiguous : scalar == "i" ? reading.i : scalar
                if isLetter(read) {
                    word.append(read)
                } else if !word.isEmpty {
                    words.append(String(word))
                    word = String.UnicodeScalarView()
                }
            }
            if !word.isEmpty { words.append(String(word)) }
            if let found = words.first(where: { roleWords.contains($0) || ($0.hasSuffix("s") && roleWords.contains(String($0.dropLast()))) }) {
                return found
            }
            let joined = words.joined()
            if let stem = roleStems.first(where: { joined.contains($0) }) { return stem }
        }
        return nil
    }

    private static func plainLetter(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if let first = boxedLetters.first(where: { scalar.value >= $0 && scalar.value < $0 + 26 }) {
            return Unicode.Scalar(97 + scalar.value - first) ?? scalar
        }
        return lookAlikes[scalar] ?? scalar
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
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
