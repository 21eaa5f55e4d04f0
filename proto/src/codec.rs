//! The codec every generated client and server uses: prost's, with small
//! initial buffers.
//!
//! tonic's default codec buffers start at 8 KiB, one for decoding the
//! request and one for encoding the reply, per call. Our messages are a few
//! hundred bytes (a `Get` reply is about 200), and the agent's zeroing
//! allocator wipes every freed block, so two 8 KiB buffers per call were
//! about a sixth of the agent's instructions per `Get` (callgrind; see
//! docs/performance.md). The buffers still grow on demand: a `List` of
//! 10,000 environments encodes and decodes as before.

use std::marker::PhantomData;

use tonic::codec::{BufferSettings, Codec};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Initial size of the encode and decode buffers of a call.
pub const BUFFER_BYTES: usize = 1024;
/// tonic's default: how much a streaming encoder buffers before it yields.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// [`ProstCodec`] with [`BUFFER_BYTES`] initial buffers.
#[derive(Debug, Clone, Copy)]
pub struct SmallBufferCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for SmallBufferCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for SmallBufferCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD))
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, U>::raw_decoder(BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD))
    }
}
