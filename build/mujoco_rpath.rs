//! Build script shared by every package whose binaries or tests link MuJoCo: it gives them
//! an rpath to the project's MuJoCo library (and to their own folder), so that they run
//! without `LD_LIBRARY_PATH`.
fn main() {
    println!("cargo::rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    if let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR") {
        println!("cargo::rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo::rustc-link-arg=-Wl,-rpath,$ORIGIN");
}
