//! A billing, subscriber or patient level as its claims share it: the level's segment table,
//! which decodes the level the first time a claim asks and keeps it inside itself. A claim
//! holds the table (one reference count), not a separately allocated decoded copy, so a level
//! costs no allocation beyond its table, and the table's allocation is recycled by the reader.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, LazyLock, OnceLock};

use serde::{Serialize, Serializer};

use super::decode::{decode_billing, decode_patient, decode_subscriber};
use super::table::DecodedLevel;
use super::table::LevelTable;
use super::{BillingProvider, Patient, SegmentTable, Subscriber};

/// A decoded level shared by the claims under it: reads as the level (`claim.subscriber.hl`).
pub struct Level<T> {
    table: Arc<LevelTable>,
    kind: PhantomData<fn() -> T>,
}

impl<T> Level<T> {
    /// The segments the level was decoded from.
    pub fn table(&self) -> &SegmentTable {
        &self.table
    }
}

impl<T> Clone for Level<T> {
    fn clone(&self) -> Self {
        Level {
            table: Arc::clone(&self.table),
            kind: PhantomData,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Level<T>
where
    Level<T>: Deref<Target = T>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Serialize> Serialize for Level<T>
where
    Level<T>: Deref<Target = T>,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

/// `Level<$level>`: made from a table that decodes as `DecodedLevel::$variant`.
macro_rules! level_kind {
    ($level:ty, $variant:ident, $decode:ident) => {
        impl Level<$level> {
            /// The level `table` makes, decoded now if no claim has asked before (on the
            /// claim's worker, not wherever the level is first read).
            pub(crate) fn of(table: &Arc<LevelTable>) -> Self {
                table.decoded_level(|t| DecodedLevel::$variant($decode(t)));
                Level {
                    table: Arc::clone(table),
                    kind: PhantomData,
                }
            }

            /// The level to edit (tests build claims by editing decoded ones): its table is
            /// copied first when other claims share it, as `Arc::make_mut` does.
            pub fn make_mut(&mut self) -> &mut $level {
                let table = Arc::make_mut(&mut self.table);
                let decoded = matches!(
                    table.decoded_level_if_any(),
                    Some(DecodedLevel::$variant(_))
                );
                if !decoded {
                    let level = DecodedLevel::$variant($decode(table));
                    *table.decoded_mut() = OnceLock::from(level);
                }
                match table.decoded_mut().get_mut() {
                    Some(DecodedLevel::$variant(level)) => level,
                    _ => unreachable!("the level was decoded just above"),
                }
            }
        }

        impl Deref for Level<$level> {
            type Target = $level;

            fn deref(&self) -> &$level {
                match self
                    .table
                    .decoded_level(|t| DecodedLevel::$variant($decode(t)))
                {
                    DecodedLevel::$variant(level) => level,
                    // A table decoded as another level: never one the reader made, since
                    // each of its tables makes one level.
                    _ => {
                        static EMPTY: LazyLock<$level> = LazyLock::new(<$level>::default);
                        &EMPTY
                    }
                }
            }
        }
    };
}

level_kind!(BillingProvider, Billing, decode_billing);
level_kind!(Subscriber, Subscriber, decode_subscriber);
level_kind!(Patient, Patient, decode_patient);
