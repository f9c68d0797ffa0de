//! Small helpers shared across the server: number parsing and formatting as Redis does it,
//! glob matching, CRC16 for hash slots, hex identifiers.

pub mod crc16;
pub mod glob;
pub mod hexid;
pub mod num;
