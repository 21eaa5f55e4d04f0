//! On x86_64 Linux glibc the `dbcreds` binary is static-pie: position
//! independent (ELF type `ET_DYN`) and without a program interpreter, so no
//! dynamic loader runs at its start (docs/performance.md). The repository's
//! `.cargo/config.toml` does it, for `cargo build`, `cargo test` and
//! `cargo install --path cli` alike; this checks the binary `cargo test`
//! built, and `.ci/run` checks the one `cargo install` gives.

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

/// ELF64 little-endian: `e_type`, and the program headers' `p_type`s.
fn elf_kinds(bytes: &[u8]) -> (u16, Vec<u32>) {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not ELF64");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
    let e_type = u16_at(16);
    let phoff = usize::try_from(u64_at(32)).expect("offset fits");
    let phentsize = usize::from(u16_at(54));
    let phnum = usize::from(u16_at(56));
    let kinds = (0..phnum).map(|i| u32_at(phoff + i * phentsize)).collect();
    (e_type, kinds)
}

#[test]
fn dbcreds_is_static_pie() {
    const ET_DYN: u16 = 3;
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    let path = env!("CARGO_BIN_EXE_dbcreds");
    let bytes = std::fs::read(path).expect("read the dbcreds binary");
    let (e_type, kinds) = elf_kinds(&bytes);
    let hint = "built without .cargo/static-pie-rustc? (a RUSTC_WRAPPER of your own replaces it)";
    assert_eq!(e_type, ET_DYN, "{path} is not position independent; {hint}");
    assert!(
        !kinds.contains(&PT_INTERP),
        "{path} asks for a dynamic loader (PT_INTERP); {hint}"
    );
    // A static-pie relocates itself from its own dynamic section.
    assert!(kinds.contains(&PT_DYNAMIC), "{path} has no PT_DYNAMIC");
}
