"""scripts/product-lines.py on small trees whose counts are known by hand: test items skipped
wherever they stand, product code after them counted, the files of gated modules left out, and
the command's per-area and total deltas between two commits. Run: python3
scripts/product_lines_test.py (scripts/ci-infra.sh does)."""

import importlib.util
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
SCRIPT = Path(__file__).resolve().parent / "product-lines.py"
spec = importlib.util.spec_from_file_location("product_lines", SCRIPT)
pl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pl)

# 4 product lines, a test module of 5, then 3 product lines the old counter never saw.
AFTER_A_TEST_MODULE = """//! A module.
pub fn a() -> u8 {
    1
}
#[cfg(test)]
mod tests {
    #[test]
    fn t() { assert_eq!(super::a(), 1); }
}
pub fn b() -> u8 {
    2
}
"""

# Braces in strings, chars, raw strings and comments do not end a test item early; lifetimes are
# not chars; gated items of every kind, inside an impl too.
TRICKY = """use std::fmt;
#[cfg(test)]
use std::collections::HashMap;
pub struct S<'a> {
    pub x: &'a str,
    #[cfg(test)]
    pub seen: Vec<(u8, u8)>,
}
impl<'a> S<'a> {
    #[cfg(test)]
    fn probe(&self) -> (&'static str, char, &'static str) {
        // }
        /* } { */
        ("}", '}', r#"}"#)
    }
    pub fn x(&self) -> &'a str {
        self.x
    }
}
#[cfg(all(test, unix))]
impl fmt::Display for S<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("{") }
}
pub const END: char = '{';
"""


class Scan(unittest.TestCase):
    def counted(self, text):
        return pl.count({"src/m.rs": text})["m"]

    def test_code_after_a_test_module_is_counted_and_the_module_is_not(self):
        self.assertEqual(self.counted(AFTER_A_TEST_MODULE), 4 + 3)

    def test_gated_items_anywhere_are_skipped_whatever_braces_their_literals_hold(self):
        # 24 lines: the gated use (2), field (2), method (6) and impl (4) are test items.
        self.assertEqual(len(TRICKY.splitlines()), 24)
        self.assertEqual(self.counted(TRICKY), 24 - 2 - 2 - 6 - 4)

    def test_a_statement_gated_inside_a_function_is_skipped(self):
        text = "fn f() {\n    #[cfg(test)]\n    let x = vec![1,\n        2];\n    g();\n}\n"
        self.assertEqual(self.counted(text), 6 - 3)

    def test_test_support_gates_modules_only_and_not_is_no_gate(self):
        text = """#[cfg(feature = "test-support")]
pub mod testing;
#[cfg(feature = "test-support")]
pub mod kit {
    pub fn double() {}
}
#[cfg(feature = "test-support")]
pub fn in_memory() {}
#[cfg(not(feature = "test-support"))]
pub fn real() {}
"""
        self.assertEqual(self.counted(text), 4)

    def test_the_files_of_gated_modules_are_not_counted(self):
        tree = {
            "src/lib.rs": "pub mod a;\n#[cfg(feature = \"test-support\")]\npub mod testkit;\n",
            "src/testkit/mod.rs": "pub mod seed;\n",
            "src/testkit/seed.rs": "pub fn seed() {}\n",
            "src/a/mod.rs": "pub mod b;\n#[cfg(test)]\n#[path = \"a_tests.rs\"]\nmod checks;\n"
                            "#[cfg(test)]\nmod tests;\npub fn after() {}\n",
            "src/a/a_tests.rs": "fn t() {}\n",
            "src/a/tests/mod.rs": "fn t() {}\n",
            "src/a/b.rs": "pub fn b() {}\n",
            "src/c/mod.rs": "#[cfg(test)]\npub(crate) mod tests;\npub fn c() {}\n",
            "src/c/tests.rs": "pub(crate) fn t() {}\n",
        }
        self.assertEqual(pl.count(tree), {"lib": 1, "a": 3, "c": 1})

    def test_an_inner_test_gate_makes_the_whole_file_test_code(self):
        self.assertEqual(self.counted("#![cfg(test)]\nfn t() {}\n"), 0)


class Command(unittest.TestCase):
    def test_two_commits_give_per_area_and_total_deltas(self):
        with tempfile.TemporaryDirectory() as d:
            git = lambda *a: subprocess.run(["git", "-C", d, *a], check=True, capture_output=True,
                                            text=True).stdout.strip()
            git("init", "-q")
            src = Path(d, "src")
            (src / "a").mkdir(parents=True)
            (src / "lib.rs").write_text("pub mod a;\n")
            (src / "a" / "mod.rs").write_text(AFTER_A_TEST_MODULE)
            git("add", "-A")
            git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
            base = git("rev-parse", "HEAD")
            (src / "a" / "mod.rs").write_text(AFTER_A_TEST_MODULE + "pub fn c() {}\n#[cfg(test)]\nmod more {}\n")
            (src / "lib.rs").write_text("pub mod a;\npub mod z;\n")
            (src / "z.rs").write_text("pub fn z() {}\npub fn zz() {}\n")
            git("add", "-A")
            git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "two")
            out = subprocess.run([sys.executable, str(SCRIPT), base, "HEAD"], cwd=d, check=True,
                                 capture_output=True, text=True).stdout.split("\n")
            self.assertEqual([line.split() for line in out if line],
                             [["z", "+2"], ["a", "+1"], ["lib", "+1"], ["total", "+4"]])


if __name__ == "__main__":
    unittest.main()
