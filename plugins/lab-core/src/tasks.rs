//! Task families, the finite space of tasks each one spans, and how the
//! spaces are cut into disjoint splits.
//!
//! A task fixes everything that defines the problem (what to do, what with,
//! where things start, where the agent starts, how much of the chain is
//! already done); the episode seed varies only rates, incidental names and
//! distractors.
//!
//! Each family's space is a few *strata* (state-change phases × head starts),
//! each stratum a list of variants times a product of layout choices, decoded
//! on demand from an index passed through a keyed random bijection. Family
//! task `i` comes from stratum `i % strata`, which keeps phases and head
//! starts balanced. `train`, `validation` and `test` take consecutive index
//! ranges of the same in-distribution spaces, so they follow one distribution
//! and never share a task; `ood` tasks come from separate spaces built on the
//! unseen vocabulary, with no head start and longer causal chains (a store
//! room, a switch in every circuit, plants that must flower from an empty
//! watering can, substances boiled from frozen).

use std::sync::OnceLock;

use crate::catalog::{DeviceName, IN_DISTRIBUTION, OUT_OF_DISTRIBUTION, Vocabulary, substance};
use crate::goal::Phase;
use crate::world::{Room, Stage};
use derl_env_api::Split;

/// A place where something can start out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Spot {
    /// Lying in a room.
    Room(Room),
    /// In the kitchen fridge.
    Fridge,
    /// In the kitchen freezer.
    Freezer,
}

/// Temperature of the fridge (°C).
pub const FRIDGE: i32 = 4;
/// Temperature of the freezer (°C).
pub const FREEZER: i32 = -18;

impl Spot {
    /// The temperature something settles at there.
    pub fn temperature(self) -> i32 {
        match self {
            Spot::Room(room) => room.ambient(),
            Spot::Fridge => FRIDGE,
            Spot::Freezer => FREEZER,
        }
    }

    /// Every spot with a room from `rooms`.
    fn all(rooms: &[Room]) -> Vec<Spot> {
        let mut spots = vec![Spot::Fridge, Spot::Freezer];
        spots.extend(rooms.iter().map(|&r| Spot::Room(r)));
        spots
    }
}

/// How the task's substance starts out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Start {
    /// Not there yet: water comes from the kitchen sink.
    Tap,
    /// A loose solid.
    Loose(Spot),
    /// In a container (the container's name is chosen per episode).
    Held(Spot),
}

/// A state-of-matter task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateChangeTask {
    /// Melt, boil or freeze.
    pub phase: Phase,
    /// What to change.
    pub substance: &'static str,
    /// Where it starts.
    pub start: Start,
    /// The empty container meant for the job (heat-proof to heat).
    pub vessel: &'static str,
    /// Where that container starts.
    pub vessel_room: Room,
}

/// A measure-and-file task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeasureTask {
    /// What to measure.
    pub substance: &'static str,
    /// Where it starts.
    pub start: Start,
    /// Readings above this go in the `above` box.
    pub threshold: i32,
    /// Colour of the box for readings above the threshold.
    pub above: &'static str,
    /// Colour of the box for the others.
    pub below: &'static str,
    /// Where the thermometer starts.
    pub thermometer_room: Room,
    /// Where the boxes are.
    pub box_room: Room,
}

/// A plant-growing task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GrowTask {
    /// What to grow.
    pub species: &'static str,
    /// The stage to reach.
    pub stage: Stage,
    /// Seeds of another species lying beside the pot.
    pub decoy: Option<&'static str>,
    /// Where the watering can starts.
    pub can_room: Room,
    /// Whether the can starts full (else fill it at the sink).
    pub can_full: bool,
    /// Where the soil starts.
    pub soil_room: Room,
    /// Where the seeds start.
    pub seeds_room: Room,
}

/// A circuit task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PowerTask {
    /// The device to power.
    pub device: DeviceName,
    /// Bit `i` set: `vocabulary.devices[i]` stands beside it as a decoy.
    pub decoys: u8,
    /// Where the needed wires start (the last is unused without a switch).
    pub wire_rooms: [Room; 3],
    /// Where a spare wire lies, if any.
    pub spare: Option<Room>,
    /// Whether the circuit runs through a switch.
    pub switch: bool,
}

/// What a task asks for, by family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// Melt, boil or freeze a substance.
    StateChange(StateChangeTask),
    /// Measure a temperature and act on it.
    Measure(MeasureTask),
    /// Grow a plant.
    Grow(GrowTask),
    /// Power a device.
    Power(PowerTask),
}

/// One task: its family's parameters, where the agent starts and how much of
/// the causal chain is already done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Task {
    /// Family and parameters.
    pub kind: TaskKind,
    /// The agent's starting room (before any head start is played).
    pub start: Room,
    /// How many of the chain's first sub-goals are already reached when the
    /// episode starts (played by the expert before the first observation).
    pub head_start: u8,
    /// Whether the task uses the unseen (`ood`) vocabulary.
    pub ood: bool,
}

impl Task {
    /// The vocabulary the task draws its names from.
    pub fn vocabulary(&self) -> &'static Vocabulary {
        if self.ood {
            &OUT_OF_DISTRIBUTION
        } else {
            &IN_DISTRIBUTION
        }
    }
}

/// Number of task families.
pub const FAMILIES: usize = 4;
/// Tasks per family in each split: train, validation, test, ood.
pub const PER_FAMILY: [usize; 4] = [1000, 125, 125, 250];
/// Head starts of in-distribution tasks (ood tasks always start from scratch).
pub const HEAD_STARTS: [u8; 3] = [0, 1, 2];

/// Tasks sharing a head start and a variant list: every variant combined with
/// every layout (`variants × Π radices`), visited in a keyed random order.
#[derive(Debug)]
struct Stratum {
    variants: Vec<TaskKind>,
    radices: Vec<usize>,
    head_start: u8,
    ood: bool,
    key: u64,
}

impl Stratum {
    fn len(&self) -> usize {
        self.variants.len() * self.radices.iter().product::<usize>()
    }

    /// The `k`-th task of the stratum's shuffled order (`k < len`).
    fn task(&self, k: usize) -> Task {
        let mut rest = crate::rng::permute(k as u64, self.len() as u64, self.key) as usize;
        let variant = self.variants[rest % self.variants.len()];
        rest /= self.variants.len();
        let digits: Vec<usize> = self
            .radices
            .iter()
            .map(|&r| {
                let digit = rest % r;
                rest /= r;
                digit
            })
            .collect();
        let vocabulary = if self.ood {
            &OUT_OF_DISTRIBUTION
        } else {
            &IN_DISTRIBUTION
        };
        let (kind, start) = lay_out(variant, &digits, vocabulary, self.ood);
        Task {
            kind,
            start,
            head_start: self.head_start,
            ood: self.ood,
        }
    }
}

/// One family's tasks in one vocabulary: strata taken in turn, so task `i`
/// comes from stratum `i % strata` (phases and head starts stay balanced).
#[derive(Debug)]
struct FamilySpace {
    strata: Vec<Stratum>,
}

impl FamilySpace {
    fn new(
        groups: Vec<Vec<TaskKind>>,
        radices: Vec<usize>,
        head_starts: &[u8],
        ood: bool,
        key: u64,
    ) -> Self {
        let mut strata = Vec::new();
        for &head_start in head_starts {
            for variants in &groups {
                strata.push(Stratum {
                    variants: variants.clone(),
                    radices: radices.clone(),
                    head_start,
                    ood,
                    key: key.wrapping_mul(1000).wrapping_add(strata.len() as u64),
                });
            }
        }
        FamilySpace { strata }
    }

    /// Tasks addressable without running out of any stratum.
    fn capacity(&self) -> usize {
        self.strata.len() * self.strata.iter().map(Stratum::len).min().unwrap_or(0)
    }

    /// Every distinct task of the family.
    fn size(&self) -> usize {
        self.strata.iter().map(Stratum::len).sum()
    }

    fn task(&self, local: usize) -> Option<Task> {
        let stratum = &self.strata[local % self.strata.len()];
        let k = local / self.strata.len();
        (k < stratum.len()).then(|| stratum.task(k))
    }
}

/// Every task of every split.
#[derive(Debug)]
pub struct TaskCatalog {
    in_distribution: [FamilySpace; FAMILIES],
    ood: [FamilySpace; FAMILIES],
}

impl TaskCatalog {
    /// The shared catalogue, built on first use.
    pub fn get() -> &'static TaskCatalog {
        static CATALOG: OnceLock<TaskCatalog> = OnceLock::new();
        CATALOG.get_or_init(TaskCatalog::build)
    }

    fn build() -> TaskCatalog {
        let spaces = |v: &'static Vocabulary, ood: bool| {
            let heads: &[u8] = if ood { &[0] } else { &HEAD_STARTS };
            let salt = if ood { 20 } else { 10 };
            [
                FamilySpace::new(
                    state_change_variants(v, ood),
                    state_change_radices(v),
                    heads,
                    ood,
                    salt,
                ),
                FamilySpace::new(
                    vec![measure_variants(v)],
                    measure_radices(v, ood),
                    heads,
                    ood,
                    salt + 1,
                ),
                FamilySpace::new(
                    vec![grow_variants(v, ood)],
                    grow_radices(v, ood),
                    heads,
                    ood,
                    salt + 2,
                ),
                FamilySpace::new(
                    vec![power_variants(v)],
                    power_radices(v, ood),
                    heads,
                    ood,
                    salt + 3,
                ),
            ]
        };
        TaskCatalog {
            in_distribution: spaces(&IN_DISTRIBUTION, false),
            ood: spaces(&OUT_OF_DISTRIBUTION, true),
        }
    }

    /// Number of tasks in `split`.
    pub fn count(split: Split) -> u32 {
        (PER_FAMILY[split.index() as usize] * FAMILIES) as u32
    }

    /// Task `index` of `split`, if it exists. Families alternate: task `i`
    /// belongs to family `i % 4`.
    pub fn task(&self, split: Split, index: u32) -> Option<Task> {
        if index >= Self::count(split) {
            return None;
        }
        let family = index as usize % FAMILIES;
        let local = index as usize / FAMILIES;
        let offset: usize = match split {
            Split::Train | Split::Ood => 0,
            Split::Validation => PER_FAMILY[0],
            Split::Test => PER_FAMILY[0] + PER_FAMILY[1],
        };
        let space = match split {
            Split::Ood => &self.ood[family],
            _ => &self.in_distribution[family],
        };
        space.task(offset + local)
    }

    /// Per family: (distinct tasks, tasks addressable), in distribution then ood.
    pub fn space_sizes(&self) -> [[(usize, usize); FAMILIES]; 2] {
        let sizes =
            |spaces: &[FamilySpace; FAMILIES]| spaces.each_ref().map(|s| (s.size(), s.capacity()));
        [sizes(&self.in_distribution), sizes(&self.ood)]
    }
}

/// Fills a variant's layout fields from `digits` (see the `*_radices`
/// functions) and returns it with the agent's starting room.
fn lay_out(variant: TaskKind, digits: &[usize], v: &Vocabulary, ood: bool) -> (TaskKind, Room) {
    let room = |d: usize| v.rooms[d];
    let agent = room(digits[digits.len() - 1]);
    let kind = match variant {
        TaskKind::StateChange(mut t) => {
            t.vessel_room = room(digits[0]);
            TaskKind::StateChange(t)
        }
        TaskKind::Measure(mut t) => {
            t.threshold = v.thresholds[digits[0]];
            (t.above, t.below) = color_pairs(v)[digits[1]];
            t.thermometer_room = room(digits[2]);
            t.box_room = box_rooms(v)[digits[3]];
            TaskKind::Measure(t)
        }
        TaskKind::Grow(mut t) => {
            t.can_room = room(digits[0]);
            t.can_full = !ood && digits[1] == 0;
            t.soil_room = supply_rooms(v)[digits[2]];
            t.seeds_room = supply_rooms(v)[digits[3]];
            TaskKind::Grow(t)
        }
        TaskKind::Power(mut t) => {
            let wires = if t.switch { 3 } else { 2 };
            for (i, slot) in t.wire_rooms.iter_mut().enumerate() {
                *slot = room(digits[i.min(wires - 1)]);
            }
            t.spare = digits[wires].checked_sub(1).map(room);
            TaskKind::Power(t)
        }
    };
    (kind, agent)
}

/// Whether a substance is solid, with a margin, at `spot`.
fn solid_at(name: &str, spot: Spot) -> bool {
    spot.temperature() <= substance(name).melting - 3
}

/// Whether a substance is liquid, with a margin, at `spot`.
fn liquid_at(name: &str, spot: Spot) -> bool {
    let s = substance(name);
    spot.temperature() >= s.melting + 3 && spot.temperature() < s.boiling
}

/// State-change variants, one group per phase.
fn state_change_variants(v: &'static Vocabulary, ood: bool) -> Vec<Vec<TaskKind>> {
    let spots = Spot::all(v.rooms);
    let task = |phase, substance, start, vessel| {
        TaskKind::StateChange(StateChangeTask {
            phase,
            substance,
            start,
            vessel,
            vessel_room: Room::Kitchen,
        })
    };
    let mut melt = Vec::new();
    for &x in v.melt {
        for &spot in spots.iter().filter(|&&s| solid_at(x, s)) {
            for &pot in v.pots {
                melt.push(task(Phase::Melt, x, Start::Loose(spot), pot));
            }
        }
    }
    let mut boil = Vec::new();
    for &x in v.boil {
        let mut starts: Vec<Start> = if x == "water" {
            vec![Start::Tap]
        } else {
            spots
                .iter()
                .filter(|&&s| liquid_at(x, s))
                .map(|&s| Start::Held(s))
                .collect()
        };
        // Unseen chains: boiling a substance that starts frozen solid.
        if ood && solid_at(x, Spot::Freezer) {
            starts.push(Start::Loose(Spot::Freezer));
        }
        for &start in &starts {
            for &pot in v.pots {
                boil.push(task(Phase::Boil, x, start, pot));
            }
        }
    }
    let mut freeze = Vec::new();
    for &x in v.freeze {
        if x == "water" {
            for &vessel in v.cups.iter().chain(v.pots) {
                freeze.push(task(Phase::Freeze, x, Start::Tap, vessel));
            }
        } else {
            for &spot in spots.iter().filter(|&&s| liquid_at(x, s)) {
                for &pot in v.pots {
                    freeze.push(task(Phase::Freeze, x, Start::Held(spot), pot));
                }
            }
        }
    }
    vec![melt, boil, freeze]
}

/// Layout: vessel room, agent room.
fn state_change_radices(v: &Vocabulary) -> Vec<usize> {
    vec![v.rooms.len(), v.rooms.len()]
}

/// Ordered pairs of distinct colours: (above, below).
fn color_pairs(v: &Vocabulary) -> Vec<(&'static str, &'static str)> {
    let mut pairs = Vec::new();
    for (i, &a) in v.colors.iter().enumerate() {
        for (j, &b) in v.colors.iter().enumerate() {
            if i != j {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

/// Rooms the boxes may stand in: workshop, hallway (ood: also the store).
fn box_rooms(v: &Vocabulary) -> Vec<Room> {
    v.rooms
        .iter()
        .copied()
        .filter(|r| matches!(r, Room::Workshop | Room::Hallway | Room::Storage))
        .collect()
}

fn measure_variants(v: &'static Vocabulary) -> Vec<TaskKind> {
    let spots = Spot::all(v.rooms);
    let mut out = Vec::new();
    for &x in v.measure {
        let solid_at_room = solid_at(x, Spot::Room(Room::Hallway));
        for &spot in &spots {
            let start = if solid_at_room {
                if !solid_at(x, spot) {
                    continue;
                }
                Start::Loose(spot)
            } else {
                Start::Held(spot)
            };
            out.push(TaskKind::Measure(MeasureTask {
                substance: x,
                start,
                threshold: 0,
                above: "",
                below: "",
                thermometer_room: Room::Hallway,
                box_room: Room::Hallway,
            }));
        }
    }
    out
}

/// Layout: threshold, colour pair, thermometer room, box room, agent room.
fn measure_radices(v: &Vocabulary, _ood: bool) -> Vec<usize> {
    vec![
        v.thresholds.len(),
        color_pairs(v).len(),
        v.rooms.len(),
        box_rooms(v).len(),
        v.rooms.len(),
    ]
}

/// Ood plants must flower (a longer wait).
fn grow_variants(v: &'static Vocabulary, ood: bool) -> Vec<TaskKind> {
    let stages: &[Stage] = if ood {
        &[Stage::Flowering]
    } else {
        &[Stage::Seedling, Stage::Adult]
    };
    let mut out = Vec::new();
    for &species in v.plants {
        let decoys = std::iter::once(None)
            .chain(v.plants.iter().filter(|&&p| p != species).map(|&p| Some(p)));
        for decoy in decoys {
            for &stage in stages {
                out.push(TaskKind::Grow(GrowTask {
                    species,
                    stage,
                    decoy,
                    can_room: Room::Greenhouse,
                    can_full: true,
                    soil_room: Room::Greenhouse,
                    seeds_room: Room::Greenhouse,
                }));
            }
        }
    }
    out
}

/// Rooms soil and seeds may start in.
fn supply_rooms(v: &Vocabulary) -> [Room; 2] {
    if v.rooms.contains(&Room::Storage) {
        [Room::Greenhouse, Room::Storage]
    } else {
        [Room::Greenhouse, Room::Workshop]
    }
}

/// Layout: can room, can full (ood: always empty), soil room, seeds room, agent room.
fn grow_radices(v: &Vocabulary, ood: bool) -> Vec<usize> {
    let fills = if ood { 1 } else { 2 };
    vec![v.rooms.len(), fills, 2, 2, v.rooms.len()]
}

fn power_variants(v: &'static Vocabulary) -> Vec<TaskKind> {
    let ood = v.rooms.contains(&Room::Storage);
    let n = v.devices.len();
    let mut out = Vec::new();
    for (d, &device) in v.devices.iter().enumerate() {
        for decoys in 0u8..(1 << n) {
            if decoys & (1 << d) != 0 || decoys.count_ones() > 2 {
                continue;
            }
            out.push(TaskKind::Power(PowerTask {
                device,
                decoys,
                wire_rooms: [Room::Workshop; 3],
                spare: None,
                switch: ood,
            }));
        }
    }
    out
}

/// Layout: a room per needed wire (three with the ood switch), spare wire
/// (none, or a room; ood: none), agent room.
fn power_radices(v: &Vocabulary, ood: bool) -> Vec<usize> {
    let rooms = v.rooms.len();
    if ood {
        vec![rooms, rooms, rooms, 1, rooms]
    } else {
        vec![rooms, rooms, rooms + 1, rooms]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_family_space_fills_its_splits() {
        let [in_sizes, ood_sizes] = TaskCatalog::get().space_sizes();
        let in_needed = PER_FAMILY[0] + PER_FAMILY[1] + PER_FAMILY[2];
        for (size, capacity) in in_sizes {
            assert!(
                capacity >= in_needed,
                "in-distribution capacity {capacity} < {in_needed}"
            );
            assert!(
                size >= 2 * in_needed,
                "in-distribution space of {size} is small"
            );
        }
        for (_, capacity) in ood_sizes {
            assert!(
                capacity >= PER_FAMILY[3],
                "ood capacity {capacity} < {}",
                PER_FAMILY[3]
            );
        }
    }

    #[test]
    fn splits_are_disjoint_and_complete() {
        let catalog = TaskCatalog::get();
        let mut seen: HashSet<Task> = HashSet::new();
        for split in Split::ALL {
            let count = TaskCatalog::count(split);
            assert!(count >= 500);
            for index in 0..count {
                let task = catalog.task(split, index).expect("every index has a task");
                assert_eq!(task.ood, split == Split::Ood);
                assert!(
                    seen.insert(task),
                    "{split} task {index} repeats an earlier task"
                );
            }
            assert_eq!(catalog.task(split, count), None);
        }
    }

    #[test]
    fn phases_and_head_starts_are_balanced() {
        let catalog = TaskCatalog::get();
        let mut counts: std::collections::HashMap<(Phase, u8), usize> = Default::default();
        for index in (0..TaskCatalog::count(Split::Train)).step_by(FAMILIES) {
            let task = catalog.task(Split::Train, index).unwrap();
            let TaskKind::StateChange(s) = task.kind else {
                panic!("family 0 must be state change, got {task:?}");
            };
            *counts.entry((s.phase, task.head_start)).or_default() += 1;
        }
        assert_eq!(counts.len(), 9);
        assert!(counts.values().all(|&n| n >= 110), "{counts:?}");
    }

    #[test]
    fn starting_states_match_the_phase() {
        let catalog = TaskCatalog::get();
        for split in Split::ALL {
            for index in (0..TaskCatalog::count(split)).step_by(FAMILIES) {
                let TaskKind::StateChange(task) = catalog.task(split, index).unwrap().kind else {
                    panic!("family 0 must be state change");
                };
                match (task.phase, task.start) {
                    (Phase::Melt, Start::Loose(spot)) => assert!(solid_at(task.substance, spot)),
                    (Phase::Freeze, Start::Held(spot)) => assert!(liquid_at(task.substance, spot)),
                    (Phase::Boil, Start::Held(spot)) => assert!(liquid_at(task.substance, spot)),
                    (Phase::Boil, Start::Loose(Spot::Freezer)) => assert!(split == Split::Ood),
                    (_, Start::Tap) => assert_eq!(task.substance, "water"),
                    other => panic!("unexpected start {other:?}"),
                }
            }
        }
    }

    #[test]
    fn ood_tasks_have_longer_chains() {
        let catalog = TaskCatalog::get();
        for index in 0..TaskCatalog::count(Split::Ood) {
            let task = catalog.task(Split::Ood, index).unwrap();
            assert_eq!(task.head_start, 0);
            match task.kind {
                TaskKind::Power(p) => assert!(p.switch),
                TaskKind::Grow(g) => assert!(!g.can_full && g.stage == Stage::Flowering),
                _ => {}
            }
        }
    }
}
