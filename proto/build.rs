//! Compiles `dbcreds/v1/agent.proto` with protox, so a machine with only
//! cargo (no `protoc`) can build the crate.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "dbcreds/v1/agent.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["."])?;
    tonic_prost_build::configure()
        // ProstCodec with small initial buffers: see src/codec.rs.
        .codec_path("crate::codec::SmallBufferCodec")
        // Messages that carry a password get a hand-written Debug that hides it.
        .skip_debug([
            "dbcreds.v1.GetResponse",
            "dbcreds.v1.PutRequest",
            "dbcreds.v1.UpdateRequest",
            "dbcreds.v1.UnlockRequest",
            "dbcreds.v1.InitRequest",
            "dbcreds.v1.ReadLegacyKeyringResponse",
            "dbcreds.v1.BackupRequest",
            "dbcreds.v1.RestoreRequest",
            "dbcreds.v1.ExportedEnvironment",
            "dbcreds.v1.ExportAllResponse",
            "dbcreds.v1.PassphraseRequest",
            "dbcreds.v1.RekeyRequest",
            "dbcreds.v1.PutSourceRequest",
            "dbcreds.v1.LoginSourceRequest",
        ])
        .compile_fds(fds)?;
    Ok(())
}
