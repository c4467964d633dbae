//! Tests of the minifier `build.rs` runs over `web/` (`build/minify.rs`):
//! literals survive byte for byte, comments and meaningless whitespace go,
//! the line breaks automatic semicolon insertion needs stay, ambiguous or
//! broken input is an error; and every source in `web/` minifies, to a
//! fixed point. The browser tests run the shipped result.

#[path = "../build/minify.rs"]
mod minify;

use minify::{css, html, js};

fn check(source: &str, expected: &str) {
    assert_eq!(js(source).unwrap(), expected, "source: {source:?}");
}

#[test]
fn comments_and_indentation_go() {
    check(
        "// header\nfunction f(a, b) {\n  /* block\n  comment */ return a + b; // trailing\n}\n",
        "function f(a,b){return a+b;}\n",
    );
    check(
        "\n\n  const x = 1;\n\n\n  const y = 2;\n",
        "const x=1;const y=2;\n",
    );
}

#[test]
fn literals_are_kept_exactly() {
    check(
        "const s = 'a // not a comment /* nor this */  x';",
        "const s='a // not a comment /* nor this */  x';\n",
    );
    check(
        r#"const d = "it's \" quoted  ";"#,
        "const d=\"it's \\\" quoted  \";\n",
    );
    check(
        "const t = `a  ${b + `in  ${c}`}  // kept\n  line`;",
        "const t=`a  ${b+`in  ${c}`}  // kept\n  line`;\n",
    );
    check(
        "const o = `${ { a: '}' }.a }`;",
        "const o=`${{a:'}'}.a}`;\n",
    );
    check(
        "const r = /^\\s*[-+]?\\d+ '\"\\/[/]*$/g.test(x);",
        "const r=/^\\s*[-+]?\\d+ '\"\\/[/]*$/g.test(x);\n",
    );
    check(
        "if (ok) return /a b/.test(s);",
        "if(ok)return/a b/.test(s);\n",
    );
    check(
        "x.replace(/-(\\w)/g, (m, c) => c);",
        "x.replace(/-(\\w)/g,(m,c)=>c);\n",
    );
}

#[test]
fn division_is_not_a_regular_expression() {
    check("const a = (b) / 2 / c;", "const a=(b)/2/c;\n");
    check("const a = x[1] / y / z;", "const a=x[1]/y/z;\n");
    check("const a = b / c, d = e / f;", "const a=b/c,d=e/f;\n");
}

#[test]
fn spaces_that_matter_stay() {
    check("let x = typeof y in z;", "let x=typeof y in z;\n");
    check("a = b + +c - -d;", "a=b+ +c- -d;\n");
    check("a = b + ++c;", "a=b+ ++c;\n");
    check("return 'x' instanceof y;", "return'x'instanceof y;\n");
    check("const k = /x/ in o;", "const k=/x/ in o;\n");
    check("a = b / /re/.source.length;", "a=b/ /re/.source.length;\n");
}

#[test]
fn line_breaks_that_may_end_a_statement_stay() {
    check("a = b\n(c)\n", "a=b\n(c)\n");
    check("return\nx\n", "return\nx\n");
    check("x\n++y\n", "x\n++y\n");
    check("a++\nb\n", "a++\nb\n");
    check("const f = () => {\n}\nf()\n", "const f=()=>{}\nf()\n");
    check("const a = b\n  .c()\n  .d;\n", "const a=b.c().d;\n");
    check(
        "const a = {\n  x: 1,\n  y: [\n    2,\n  ],\n};\n",
        "const a={x:1,y:[2,],};\n",
    );
    check("const v = a ?\n  b :\n  c;\n", "const v=a?b:c;\n");
    check("if (a &&\n  b) f();\n", "if(a&&b)f();\n");
}

#[test]
fn broken_input_is_an_error_with_its_line() {
    let err = |source: &str| js(source).unwrap_err();
    assert_eq!(err("a;\nconst s = 'open\n';").line, 2);
    assert_eq!(err("a;\nb;\n/* open").line, 3);
    assert_eq!(
        err("const t = `open").message,
        "unterminated template literal"
    );
    assert_eq!(
        err("const t = `${a`").message,
        "unterminated template literal"
    );
    assert_eq!(
        err("const t = `${a").message,
        "unterminated ${ in a template literal"
    );
    assert!(
        err("x = (\n/re\n/)")
            .message
            .starts_with("unterminated regular expression")
    );
    assert_eq!(css("a { b: c } /* open").unwrap_err().line, 1);
    assert_eq!(
        css("a {\n content: \"open\n}").unwrap_err().message,
        "unterminated string"
    );
    assert_eq!(html("<p>\n<!-- open").unwrap_err().line, 2);
    assert!(html("<pre>\n x\n</pre>").is_err());
}

#[test]
fn css_keeps_what_selectors_and_values_need() {
    assert_eq!(
        css("/* c */\nhtml.cl body ,\na :hover > b {\n  font: 14px/1.4 \"Segoe  UI\", sans-serif;\n  \
             margin: calc(100% - 2px) auto;\n}\n@media (max-width: 600px) {\n  a { b: c !important; }\n}\n")
        .unwrap(),
        "html.cl body,a :hover>b{font:14px/1.4 \"Segoe  UI\",sans-serif;margin:calc(100% - 2px) auto}\
         @media (max-width:600px){a{b:c !important}}\n"
    );
}

#[test]
fn html_joins_lines_without_changing_text() {
    assert_eq!(
        html("<!doctype html>\n<!-- c -->\n<p>\n  <b>Bold</b>\n  and text\n  <i>x</i> y\n</p>\n")
            .unwrap(),
        "<!doctype html><p><b>Bold</b> and text <i>x</i> y </p>\n"
    );
}

/// Every file in `web/` minifies, and minifying the result changes nothing.
#[test]
fn the_sources_minify_to_a_fixed_point() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let minify: fn(&str) -> Result<String, minify::Error> =
            match path.extension().and_then(|e| e.to_str()) {
                Some("js") => js,
                Some("css") => css,
                Some("html") => html,
                _ => continue,
            };
        let once = minify(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(once.len() < text.len(), "{}", path.display());
        assert_eq!(minify(&once).unwrap(), once, "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 8, "{seen} files");
}
