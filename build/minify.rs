//! The small minifier `build.rs` runs over the page's sources in `web/`:
//! it removes comments, indentation, blank lines and the spaces that
//! carry no meaning, and leaves every string, template literal and regular
//! expression literal exactly as written. It is not a general minifier: it
//! renames nothing and keeps the line breaks that JavaScript's automatic
//! semicolon insertion could depend on. Where the source is ambiguous for
//! it (a `/` it cannot tell division from a regular expression by, an
//! unterminated literal or comment), it returns an error naming the line,
//! so the build fails instead of shipping broken code.
//! `tests/minify.rs` tests it; the browser tests run what it produces.

/// What went wrong, with the 1-based line of the source.
#[derive(Debug, PartialEq, Eq)]
pub struct Error {
    pub line: usize,
    pub message: &'static str,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Words after which a `/` starts a regular expression, not a division.
const REGEX_AFTER_WORDS: [&str; 14] = [
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
];

/// Whether a character belongs to an identifier, keyword or number.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '\\' || !c.is_ascii()
}

/// What the last emitted token was, for the `/` decision and for spaces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Nothing yet, or an operator or punctuation.
    Punct,
    /// An identifier, keyword or number.
    Word,
    /// A string, template or regular expression literal.
    Literal,
}

/// The JavaScript scanner.
struct Js<'a> {
    src: &'a [char],
    pos: usize,
    line: usize,
    out: String,
    /// The last emitted token's kind.
    last: Last,
    /// The word being or last emitted, while `last` is `Word`.
    word: String,
    /// Whitespace was skipped since the last emitted character.
    space: bool,
    /// A line break was skipped since the last emitted character.
    newline: bool,
}

/// Minifies JavaScript.
pub fn js(source: &str) -> Result<String, Error> {
    let chars: Vec<char> = source.chars().collect();
    let mut scanner = Js {
        src: &chars,
        pos: 0,
        line: 1,
        out: String::with_capacity(source.len()),
        last: Last::Punct,
        word: String::new(),
        space: false,
        newline: false,
    };
    scanner.code(false)?;
    if !scanner.out.is_empty() {
        scanner.out.push('\n');
    }
    Ok(scanner.out)
}

impl Js<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.src.get(self.pos + ahead).copied()
    }

    fn error(&self, message: &'static str) -> Error {
        Error {
            line: self.line,
            message,
        }
    }

    /// Code until the end, or (inside a template's `${`) until its `}`.
    fn code(&mut self, in_template: bool) -> Result<(), Error> {
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            match c {
                '\n' => {
                    self.line += 1;
                    self.newline = true;
                    self.pos += 1;
                }
                ' ' | '\t' | '\r' => {
                    self.space = true;
                    self.pos += 1;
                }
                '/' if self.peek(1) == Some('/') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '/' if self.peek(1) == Some('*') => {
                    let start = self.line;
                    self.pos += 2;
                    loop {
                        match self.peek(0) {
                            None => {
                                return Err(Error {
                                    line: start,
                                    message: "unterminated comment",
                                });
                            }
                            Some('*') if self.peek(1) == Some('/') => break,
                            Some('\n') => {
                                self.line += 1;
                                self.newline = true;
                            }
                            Some(_) => {}
                        }
                        self.pos += 1;
                    }
                    self.pos += 2;
                    self.space = true;
                }
                '/' if self.regex_allowed() => self.regex()?,
                '\'' | '"' => self.string(c)?,
                '`' => self.template()?,
                '{' => {
                    depth += 1;
                    self.emit(c);
                    self.pos += 1;
                }
                '}' if in_template && depth == 0 => return Ok(()),
                '}' => {
                    depth = depth.saturating_sub(1);
                    self.emit(c);
                    self.pos += 1;
                }
                _ => {
                    self.emit(c);
                    self.pos += 1;
                }
            }
        }
        match in_template {
            true => Err(self.error("unterminated ${ in a template literal")),
            false => Ok(()),
        }
    }

    /// Whether a `/` here starts a regular expression literal.
    fn regex_allowed(&self) -> bool {
        match self.last {
            Last::Literal => false,
            Last::Word => REGEX_AFTER_WORDS.contains(&self.word.as_str()),
            Last::Punct => !matches!(self.out.chars().last(), Some(')' | ']' | '}')),
        }
    }

    /// Writes the whitespace skipped before `next`, if it matters.
    fn separate(&mut self, next: char) {
        let prev = self.out.chars().last();
        let newline = std::mem::take(&mut self.newline);
        let space = std::mem::take(&mut self.space) || newline;
        let Some(prev) = prev else { return };
        if !space {
            return;
        }
        // A line break may end a statement (automatic semicolon insertion)
        // unless the line ends in, or the next begins with, a token that
        // cannot end or begin a statement. `+` and `-` stay out: `a++` then
        // `b` on the next line, or `x` then `++y`.
        let joins = matches!(
            prev,
            '{' | '('
                | '['
                | ','
                | ';'
                | ':'
                | '='
                | '.'
                | '?'
                | '&'
                | '|'
                | '<'
                | '>'
                | '!'
                | '*'
                | '%'
                | '^'
                | '~'
        ) || matches!(next, ')' | ']' | '}' | ',' | ';' | '.' | '?' | ':' | '=');
        if newline && !joins {
            self.out.push('\n');
            return;
        }
        let needs_space = (is_word(prev) || self.last == Last::Literal && prev == '/')
            && is_word(next)
            || prev == '+' && next == '+'
            || prev == '-' && next == '-'
            || prev == '/' && (next == '/' || next == '*');
        if needs_space {
            self.out.push(' ');
        }
    }

    /// Writes one character of code.
    fn emit(&mut self, c: char) {
        let separated = self.space || self.newline;
        self.separate(c);
        self.out.push(c);
        if is_word(c) {
            if self.last != Last::Word || separated {
                self.word.clear();
            }
            self.word.push(c);
            self.last = Last::Word;
        } else {
            self.last = Last::Punct;
        }
    }

    /// Copies a quoted string.
    fn string(&mut self, quote: char) -> Result<(), Error> {
        self.separate(quote);
        self.out.push(quote);
        self.pos += 1;
        loop {
            match self.peek(0) {
                None | Some('\n') => return Err(self.error("unterminated string")),
                Some('\\') => {
                    let escaped = self
                        .peek(1)
                        .ok_or_else(|| self.error("unterminated string"))?;
                    if escaped == '\n' {
                        self.line += 1;
                    }
                    self.out.push('\\');
                    self.out.push(escaped);
                    self.pos += 2;
                }
                Some(c) => {
                    self.out.push(c);
                    self.pos += 1;
                    if c == quote {
                        break;
                    }
                }
            }
        }
        self.last = Last::Literal;
        Ok(())
    }

    /// Copies a template literal; the code inside `${ }` is minified.
    fn template(&mut self) -> Result<(), Error> {
        self.separate('`');
        self.out.push('`');
        self.pos += 1;
        loop {
            match self.peek(0) {
                None => return Err(self.error("unterminated template literal")),
                Some('\\') => {
                    let escaped = self
                        .peek(1)
                        .ok_or_else(|| self.error("unterminated template literal"))?;
                    self.out.push('\\');
                    self.out.push(escaped);
                    self.pos += 2;
                }
                Some('`') => {
                    self.out.push('`');
                    self.pos += 1;
                    break;
                }
                Some('$') if self.peek(1) == Some('{') => {
                    self.out.push_str("${");
                    self.pos += 2;
                    self.last = Last::Punct;
                    self.space = false;
                    self.newline = false;
                    self.code(true)?;
                    self.space = false;
                    self.newline = false;
                    self.out.push('}');
                    self.pos += 1;
                }
                Some(c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    self.out.push(c);
                    self.pos += 1;
                }
            }
        }
        self.last = Last::Literal;
        Ok(())
    }

    /// Copies a regular expression literal with its flags.
    fn regex(&mut self) -> Result<(), Error> {
        self.separate('/');
        self.out.push('/');
        self.pos += 1;
        let mut class = false;
        loop {
            match self.peek(0) {
                None | Some('\n') => {
                    return Err(self.error(
                        "unterminated regular expression (or a division the minifier took for one)",
                    ));
                }
                Some('\\') => {
                    let escaped = self
                        .peek(1)
                        .ok_or_else(|| self.error("unterminated regular expression"))?;
                    self.out.push('\\');
                    self.out.push(escaped);
                    self.pos += 2;
                    continue;
                }
                Some(c) => {
                    self.out.push(c);
                    self.pos += 1;
                    match c {
                        '[' => class = true,
                        ']' => class = false,
                        '/' if !class => break,
                        _ => {}
                    }
                }
            }
        }
        while let Some(flag) = self.peek(0).filter(|c| c.is_ascii_alphabetic()) {
            self.out.push(flag);
            self.pos += 1;
        }
        self.last = Last::Literal;
        Ok(())
    }
}

/// Minifies CSS: comments and line breaks go, runs of whitespace become
/// one space, and the spaces next to `{ } ; , >` and after `:` go (a space
/// before `:` is kept: `a :hover` is not `a:hover`). Strings are kept.
pub fn css(source: &str) -> Result<String, Error> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut line = 1;
    let mut space = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let start = line;
            i += 2;
            while !(chars.get(i) == Some(&'*') && chars.get(i + 1) == Some(&'/')) {
                match chars.get(i) {
                    None => {
                        return Err(Error {
                            line: start,
                            message: "unterminated comment",
                        });
                    }
                    Some('\n') => line += 1,
                    Some(_) => {}
                }
                i += 1;
            }
            i += 2;
            space = true;
            continue;
        }
        if c.is_whitespace() {
            if c == '\n' {
                line += 1;
            }
            space = true;
            i += 1;
            continue;
        }
        let glue = |c: char| matches!(c, '{' | '}' | ';' | ',' | '>');
        if space && !out.is_empty() && !glue(c) && !out.ends_with(|p: char| glue(p) || p == ':') {
            out.push(' ');
        }
        space = false;
        if c == '}' && out.ends_with(';') {
            out.pop();
        }
        out.push(c);
        i += 1;
        if c == '"' || c == '\'' {
            loop {
                match chars.get(i) {
                    None | Some('\n') => {
                        return Err(Error {
                            line,
                            message: "unterminated string",
                        });
                    }
                    Some(&q) => {
                        out.push(q);
                        i += 1;
                        if q == c {
                            break;
                        }
                    }
                }
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}

/// Minifies HTML written one element or text run per line: comments go,
/// each line is trimmed, and lines are joined with nothing between a tag's
/// end and the next tag's start, else with one space. Refuses `<pre>` and
/// `<textarea>`, whose line breaks would matter.
pub fn html(source: &str) -> Result<String, Error> {
    let mut text = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("<!--") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find("-->").ok_or_else(|| Error {
            line: source[..source.len() - rest.len() + start].lines().count() + 1,
            message: "unterminated comment",
        })?;
        rest = &rest[start + end + 3..];
    }
    text.push_str(rest);
    for (number, line) in text.lines().enumerate() {
        if line.contains("<pre") || line.contains("<textarea") {
            return Err(Error {
                line: number + 1,
                message: "<pre> and <textarea> are not supported",
            });
        }
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let glued = out.ends_with('>') && line.starts_with('<');
        if !out.is_empty() && !glued {
            out.push(' ');
        }
        out.push_str(line);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}
