//! Money: what provider calls cost (the price table), what a request is expected to cost before
//! anything is spent (estimates), and what was spent (usage views).

pub mod budgets;
pub mod estimate;
pub mod prices;
pub mod spending;

pub use prices::{Currency, Price, PriceTable, Unit, format_amount};
