//! A model-based property test: random sequences of submit, accept, reject, withdraw, revoke
//! and rate changes, run against the service and against a plain in-memory model. After every
//! step each SME's balance must equal the model's, and the chain must verify.

use std::collections::HashMap;
use std::sync::Mutex;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, item_body, spawn_app};

const TIER_TYPES: [(&str, &str, i64); 7] = [
    ("associate", "standard", 1),
    ("associate", "performance", 4),
    ("specialist", "standard", 3),
    ("specialist", "performance", 6),
    ("technology_core", "standard", 3),
    ("technology_core", "performance", 6),
    ("ccie_lab", "performance", 12),
];

#[derive(Debug, Clone)]
enum Op {
    Submit {
        sme: usize,
        tier_type: usize,
        external_vendor: bool,
    },
    Accept {
        item: usize,
    },
    Reject {
        item: usize,
    },
    Withdraw {
        item: usize,
    },
    Revoke {
        item: usize,
    },
    RateChange {
        tier_type: usize,
        credits: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 0..TIER_TYPES.len(), prop::bool::weighted(0.2))
            .prop_map(|(sme, tier_type, external_vendor)| Op::Submit { sme, tier_type, external_vendor }),
        3 => any::<usize>().prop_map(|item| Op::Accept { item }),
        1 => any::<usize>().prop_map(|item| Op::Reject { item }),
        1 => any::<usize>().prop_map(|item| Op::Withdraw { item }),
        2 => any::<usize>().prop_map(|item| Op::Revoke { item }),
        1 => (0..TIER_TYPES.len(), 0..20i64).prop_map(|(tier_type, credits)| Op::RateChange { tier_type, credits }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Submitted,
    Accepted,
    Rejected,
    Withdrawn,
    Revoked,
}

#[derive(Debug)]
struct ModelItem {
    id: String,
    sme: usize,
    tier_type: usize,
    eligible: bool,
    status: Status,
    /// Credits posted on acceptance.
    award: i64,
}

/// One service for all cases; the rates it holds now, as the model knows them.
struct World {
    app: TestApp,
    pm: TestUser,
    rates: Mutex<HashMap<usize, i64>>,
}

impl World {
    async fn new() -> Self {
        let app = spawn_app().await;
        let pm = app.create_user("program_manager").await;
        let rates = TIER_TYPES
            .iter()
            .enumerate()
            .map(|(i, (_, _, credits))| (i, *credits))
            .collect();
        Self {
            app,
            pm,
            rates: Mutex::new(rates),
        }
    }

    fn rate(&self, tier_type: usize) -> i64 {
        self.rates.lock().unwrap()[&tier_type]
    }

    async fn run_case(&self, ops: Vec<Op>) -> Result<(), String> {
        let app = &self.app;
        let smes = [app.create_user("sme").await, app.create_user("sme").await];
        let mut items: Vec<ModelItem> = Vec::new();
        let mut balances = [0i64; 2];
        let today = chrono::Utc::now().date_naive().to_string();

        for (step, op) in ops.iter().enumerate() {
            let pick = |index: usize| (!items.is_empty()).then(|| index % items.len());
            let (expected, status) = match op {
                Op::Submit {
                    sme,
                    tier_type,
                    external_vendor,
                } => {
                    let (tier, item_type, _) = TIER_TYPES[*tier_type];
                    let channel = if *external_vendor {
                        "external_vendor"
                    } else {
                        "sme_program"
                    };
                    let reply = app
                        .post(
                            "/api/v1/items",
                            Some(&smes[*sme].token),
                            &item_body(tier, item_type, channel),
                        )
                        .await;
                    if reply.status == 201 {
                        items.push(ModelItem {
                            id: reply.body["id"].as_str().unwrap_or_default().to_owned(),
                            sme: *sme,
                            tier_type: *tier_type,
                            eligible: !*external_vendor,
                            status: Status::Submitted,
                            award: 0,
                        });
                    }
                    (201, reply.status.as_u16())
                }
                Op::Accept { item } => {
                    let Some(i) = pick(*item) else { continue };
                    let reply = app.accept(&self.pm.token, &items[i].id).await;
                    let expected = if items[i].status == Status::Submitted {
                        200
                    } else {
                        409
                    };
                    if reply.status == 200 {
                        let amount = if items[i].eligible {
                            self.rate(items[i].tier_type)
                        } else {
                            0
                        };
                        let posted = reply.body["award"]["amount"].as_i64().unwrap_or(0);
                        if posted != amount {
                            return Err(format!("step {step}: award {posted}, model {amount}"));
                        }
                        items[i].status = Status::Accepted;
                        items[i].award = amount;
                        balances[items[i].sme] += amount;
                    }
                    (expected, reply.status.as_u16())
                }
                Op::Reject { item } => {
                    let Some(i) = pick(*item) else { continue };
                    let path = format!("/api/v1/items/{}/reject", items[i].id);
                    let reply = app
                        .post(
                            &path,
                            Some(&self.pm.token),
                            &json!({ "reason": "model says no" }),
                        )
                        .await;
                    let expected = if items[i].status == Status::Submitted {
                        200
                    } else {
                        409
                    };
                    if reply.status == 200 {
                        items[i].status = Status::Rejected;
                    }
                    (expected, reply.status.as_u16())
                }
                Op::Withdraw { item } => {
                    let Some(i) = pick(*item) else { continue };
                    let path = format!("/api/v1/items/{}/withdraw", items[i].id);
                    let reply = app
                        .post(&path, Some(&smes[items[i].sme].token), &json!({}))
                        .await;
                    let expected = if items[i].status == Status::Submitted {
                        200
                    } else {
                        409
                    };
                    if reply.status == 200 {
                        items[i].status = Status::Withdrawn;
                    }
                    (expected, reply.status.as_u16())
                }
                Op::Revoke { item } => {
                    let Some(i) = pick(*item) else { continue };
                    let path = format!("/api/v1/items/{}/revoke", items[i].id);
                    let reply = app
                        .post(
                            &path,
                            Some(&self.pm.token),
                            &json!({ "reason": "model revokes" }),
                        )
                        .await;
                    let expected = if items[i].status == Status::Accepted {
                        200
                    } else {
                        409
                    };
                    if reply.status == 200 {
                        items[i].status = Status::Revoked;
                        balances[items[i].sme] -= items[i].award;
                    }
                    (expected, reply.status.as_u16())
                }
                Op::RateChange { tier_type, credits } => {
                    let (tier, item_type, _) = TIER_TYPES[*tier_type];
                    let body = json!({ "exam_tier": tier, "item_type": item_type, "credits": credits, "effective_from": today });
                    let reply = app
                        .post("/api/v1/rates/items", Some(&app.admin_token), &body)
                        .await;
                    if reply.status == 201 {
                        self.rates.lock().unwrap().insert(*tier_type, *credits);
                    }
                    (201, reply.status.as_u16())
                }
            };
            if expected != status {
                return Err(format!(
                    "step {step} {op:?}: status {status}, model expected {expected}"
                ));
            }
            for (index, sme) in smes.iter().enumerate() {
                let balance = app.balance(&self.pm.token, &sme.id).await;
                if balance != balances[index] {
                    return Err(format!(
                        "step {step} {op:?}: SME {index} balance {balance}, model {}",
                        balances[index]
                    ));
                }
            }
            let verification = app.get("/api/v1/ledger/verify", &app.admin_token).await;
            if verification.body["ok"] != true {
                return Err(format!(
                    "step {step}: chain does not verify: {}",
                    verification.text
                ));
            }
        }
        Ok(())
    }
}

#[test]
fn random_workflows_keep_every_balance_equal_to_the_model_and_the_chain_valid() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let world = runtime.block_on(World::new());
    let cases = std::env::var("MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(32);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&prop::collection::vec(op(), 1..30), |ops| {
        runtime
            .block_on(world.run_case(ops))
            .map_err(TestCaseError::fail)
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
