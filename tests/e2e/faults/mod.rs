//! The fault tier: the real `handler` behind a fault-injecting proxy on Azurite (answers lost after
//! the service committed, throttling, resets, a frozen endpoint), and two handler instances racing
//! on one account. Each test names the guarantee it holds; `docs/testing.md` lists them.

#![allow(unreachable_pub)]

mod delivery;
mod doors;
mod frozen;
mod http1;
mod join_order;
mod lost_answers;
pub(crate) mod proxy;
mod proxy_tests;
mod rig;
mod sweep;
mod throttling;
mod two_instances;
