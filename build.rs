//! Compiles the small C file that gives INCRBYFLOAT Redis's exact long double digits.
fn main() {
    println!("cargo:rerun-if-changed=src/util/longdouble.c");
    cc::Build::new()
        .file("src/util/longdouble.c")
        .opt_level(2)
        .compile("berth_longdouble");
}
