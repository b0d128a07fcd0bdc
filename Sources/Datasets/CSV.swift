/// Minimal CSV: comma-separated, optional double quotes (the datasets' own format, no embedded
/// newlines).
enum CSV {
    static func fields(_ line: Substring) -> [String] {
        var out: [String] = []
        var field = ""
        var quoted = false
        for ch in line {
            if ch == "\"" { quoted.toggle(); continue }
            if ch == "," && !quoted { out.append(field); field = ""; continue }
            if ch != "\r" { field.append(ch) }
        }
        out.append(field)
        return out
    }

    /// Header name → column index.
    static func header(_ line: Substring) -> [String: Int] {
        Dictionary(fields(line).enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }
}
