//! Task families, goals, and the generation of a task from `(split, index)`.
//!
//! A task fixes the room, its receptacles, the lamp (if any) and the goal;
//! the episode seed later fixes where the objects lie (see
//! [`crate::world`]). `train`, `validation` and `test` draw from the same
//! distribution and are made disjoint by construction: every candidate task
//! has a fingerprint, and a fingerprint belongs to exactly one of the three
//! splits (14/16 train, 1/16 validation, 1/16 test); a split's generator
//! rejects candidates that belong elsewhere. `ood` tasks come from other
//! rooms, receptacles, objects and lamps, larger scenes, two extra
//! (longer) families, and targets that are not unique in their room.

use std::fmt::Write as _;

use derl_env_api::Split;

use crate::catalog::{
    LampKind, OOD_ROOMS, ObjectKind, ReceptacleKind, RoomTemplate, TRAIN_ROOMS, Transform, class,
};
use crate::rng::{Rng, hash, hash_text};

/// Number of tasks in each split.
pub fn task_count(split: Split) -> u32 {
    match split {
        Split::Train => 20_000,
        Split::Validation | Split::Test | Split::Ood => 2_000,
    }
}

/// A task family (ALFWorld's six, plus two longer `ood`-only ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Put an object in or on a receptacle.
    PickAndPlace,
    /// Hold an object while switching on the lamp.
    ExamineInLight,
    /// Clean an object at the sink basin, then place it.
    CleanAndPlace,
    /// Heat an object in the microwave, then place it.
    HeatAndPlace,
    /// Cool an object in the fridge, then place it.
    CoolAndPlace,
    /// Put two objects of one kind (three in some `ood` tasks) in one place.
    PickTwoAndPlace,
    /// `ood` only: clean, heat or cool two objects, then place both.
    PickTwoTransformAndPlace,
    /// `ood` only: clean an object, heat or cool it too, then place it.
    CleanTransformAndPlace,
}

impl Family {
    /// Families of `train`, `validation` and `test`.
    pub const IN_DISTRIBUTION: [Family; 6] = [
        Family::PickAndPlace,
        Family::ExamineInLight,
        Family::CleanAndPlace,
        Family::HeatAndPlace,
        Family::CoolAndPlace,
        Family::PickTwoAndPlace,
    ];

    /// Families of `ood`.
    pub const OOD: [Family; 8] = [
        Family::PickAndPlace,
        Family::ExamineInLight,
        Family::CleanAndPlace,
        Family::HeatAndPlace,
        Family::CoolAndPlace,
        Family::PickTwoAndPlace,
        Family::PickTwoTransformAndPlace,
        Family::CleanTransformAndPlace,
    ];

    /// Snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            Family::PickAndPlace => "pick_and_place",
            Family::ExamineInLight => "examine_in_light",
            Family::CleanAndPlace => "clean_and_place",
            Family::HeatAndPlace => "heat_and_place",
            Family::CoolAndPlace => "cool_and_place",
            Family::PickTwoAndPlace => "pick_two_and_place",
            Family::PickTwoTransformAndPlace => "pick_two_transform_and_place",
            Family::CleanTransformAndPlace => "clean_transform_and_place",
        }
    }
}

/// Where the goal object(s) must end up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// In or on this receptacle (an index into [`TaskSpec::receptacles`]).
    Receptacle(usize),
    /// Held by the agent, at the lamp, with the lamp on.
    Lamp,
}

/// What the agent must achieve.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    /// Kind of the goal object(s); any instance counts.
    pub object: &'static ObjectKind,
    /// States each goal object must have (clean, hot, cool), in plan order.
    pub transforms: Vec<Transform>,
    /// How many goal objects must reach the destination.
    pub count: usize,
    /// Where they must end up.
    pub destination: Destination,
}

impl Goal {
    /// Whether an object in states `(clean, hot, cold)` satisfies every
    /// required transform.
    pub fn satisfied_by(&self, clean: bool, hot: bool, cold: bool) -> bool {
        self.transforms.iter().all(|t| t.achieved(clean, hot, cold))
    }
}

/// One receptacle of a task's room.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReceptacleSpec {
    /// Its kind.
    pub kind: &'static ReceptacleKind,
    /// Its number among receptacles of the same kind (from 1).
    pub number: u8,
}

/// A lamp standing on a receptacle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LampSpec {
    /// Its kind.
    pub kind: &'static LampKind,
    /// The receptacle it stands on (an index into [`TaskSpec::receptacles`]).
    pub host: usize,
}

/// A task: everything but the placement of objects.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    /// The family.
    pub family: Family,
    /// The room template.
    pub room: &'static RoomTemplate,
    /// The room's receptacles, in a fixed order.
    pub receptacles: Vec<ReceptacleSpec>,
    /// The lamp, if the room has one.
    pub lamp: Option<LampSpec>,
    /// The goal.
    pub goal: Goal,
    /// Whether this is an `ood` task (larger scenes, `ood` vocabulary).
    pub ood: bool,
}

impl TaskSpec {
    /// The goal sentence, in ALFWorld's templates: "put a mug in shelf 1.",
    /// "clean some mug and put it in shelf 1.", "find two apples and put
    /// them in fridge 1.", "examine the book with the desklamp.". The verbs
    /// are those of the actions that achieve the goal.
    pub fn goal_text(&self) -> String {
        let goal = &self.goal;
        let mut text = String::with_capacity(64);
        let object = goal.object;
        let verbs = goal
            .transforms
            .iter()
            .map(|t| t.verb())
            .collect::<Vec<_>>()
            .join(" and ");
        let quantity = match goal.count {
            2 => "two",
            3 => "three",
            _ => "several",
        };
        match goal.destination {
            Destination::Lamp => {
                let lamp = self.lamp.map_or("lamp", |lamp| lamp.kind.name);
                let _ = write!(text, "examine the {} with the {lamp}.", object.name);
            }
            Destination::Receptacle(index) => {
                let target = self.receptacles[index];
                let place = format!(
                    "{} {} {}",
                    target.kind.preposition(),
                    target.kind.name,
                    target.number
                );
                let _ = match (goal.count, verbs.is_empty()) {
                    (1, true) => write!(text, "put {} {} {place}.", object.article(), object.name),
                    (1, false) => write!(text, "{verbs} some {} and put it {place}.", object.name),
                    (_, true) => write!(
                        text,
                        "find {quantity} {} and put them {place}.",
                        object.plural
                    ),
                    (_, false) => {
                        write!(
                            text,
                            "{verbs} {quantity} {} and put them {place}.",
                            object.plural
                        )
                    }
                };
            }
        }
        text
    }

    /// A hash of everything that identifies the task.
    pub fn fingerprint(&self) -> u64 {
        let mut parts = vec![
            hash_text(self.family.name()),
            hash_text(self.room.name),
            hash_text(self.goal.object.name),
            self.goal.count as u64,
        ];
        parts.extend(self.goal.transforms.iter().map(|t| hash_text(t.verb())));
        parts.extend(
            self.receptacles
                .iter()
                .map(|r| hash_text(r.kind.name) ^ u64::from(r.number)),
        );
        if let Some(lamp) = self.lamp {
            parts.extend([hash_text(lamp.kind.name), lamp.host as u64]);
        }
        parts.push(match self.goal.destination {
            Destination::Receptacle(index) => index as u64,
            Destination::Lamp => u64::MAX,
        });
        hash(&parts)
    }
}

/// Scene size presets (the `difficulty` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Difficulty {
    /// 5-7 receptacles (9-11 in `ood`).
    Easy,
    /// 6-10 receptacles (10-14 in `ood`).
    #[default]
    Normal,
    /// 9-13 receptacles (13-17 in `ood`).
    Hard,
}

impl Difficulty {
    /// Parses `easy`, `normal` or `hard`.
    pub fn from_name(name: &str) -> Option<Difficulty> {
        match name.trim() {
            "easy" => Some(Difficulty::Easy),
            "normal" => Some(Difficulty::Normal),
            "hard" => Some(Difficulty::Hard),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Normal => "normal",
            Difficulty::Hard => "hard",
        }
    }

    /// Receptacle count range (inclusive) of in-distribution scenes; `ood`
    /// scenes have four more.
    pub fn scene_size(self) -> (usize, usize) {
        match self {
            Difficulty::Easy => (5, 7),
            Difficulty::Normal => (6, 10),
            Difficulty::Hard => (9, 13),
        }
    }
}

/// Extra receptacles of `ood` scenes over in-distribution ones.
pub const OOD_EXTRA_RECEPTACLES: usize = 4;

/// Fingerprint classes (out of 16) owned by each in-distribution split.
fn owner(fingerprint: u64) -> Split {
    match fingerprint >> 60 {
        14 => Split::Validation,
        15 => Split::Test,
        _ => Split::Train,
    }
}

/// Generates task `index` of `split`. The index must be below
/// [`task_count`]; the result depends only on `(split, index, difficulty)`.
pub fn generate(split: Split, index: u32, difficulty: Difficulty) -> TaskSpec {
    let ood = split == Split::Ood;
    for attempt in 0u64.. {
        let mut rng = Rng::from_parts(&[0x7461_736b, split.index(), u64::from(index), attempt]);
        let Some(spec) = candidate(&mut rng, ood, difficulty) else {
            continue;
        };
        if ood || owner(spec.fingerprint()) == split {
            return spec;
        }
    }
    unreachable!("an unbounded search always returns")
}

/// Transforms a family needs before the destination (for the transform-
/// choosing families, `None`: chosen per room).
fn fixed_transforms(family: Family) -> Option<&'static [Transform]> {
    match family {
        Family::PickAndPlace | Family::ExamineInLight | Family::PickTwoAndPlace => Some(&[]),
        Family::CleanAndPlace => Some(&[Transform::Clean]),
        Family::HeatAndPlace => Some(&[Transform::Heat]),
        Family::CoolAndPlace => Some(&[Transform::Cool]),
        Family::PickTwoTransformAndPlace | Family::CleanTransformAndPlace => None,
    }
}

/// Transform lists a family may use in a room (some object must accept all).
fn transform_options(family: Family, room: &RoomTemplate) -> Vec<Vec<Transform>> {
    let lists: Vec<Vec<Transform>> = match fixed_transforms(family) {
        Some(fixed) => vec![fixed.to_vec()],
        None if family == Family::PickTwoTransformAndPlace => {
            Transform::ALL.iter().map(|&t| vec![t]).collect()
        }
        None => vec![
            vec![Transform::Clean, Transform::Heat],
            vec![Transform::Clean, Transform::Cool],
        ],
    };
    lists
        .into_iter()
        .filter(|list| list.iter().all(|&t| !room.appliances(t).is_empty()))
        .filter(|list| !goal_objects(room, family, list, false).is_empty())
        .collect()
}

/// Object kinds of `room` that can be the goal of `family` with `transforms`.
fn goal_objects(
    room: &RoomTemplate,
    family: Family,
    transforms: &[Transform],
    prefer_ood: bool,
) -> Vec<&'static ObjectKind> {
    let fits = |kind: &&'static ObjectKind| {
        transforms.iter().all(|&t| kind.accepts(t))
            && (family != Family::ExamineInLight || kind.class == class::SMALL)
    };
    let all: Vec<_> = room.objects.iter().copied().filter(fits).collect();
    if prefer_ood {
        let unseen: Vec<_> = all.iter().copied().filter(|k| k.ood_only).collect();
        if !unseen.is_empty() {
            return unseen;
        }
    }
    all
}

/// One candidate task; `None` when the drawn family does not fit the room.
fn candidate(rng: &mut Rng, ood: bool, difficulty: Difficulty) -> Option<TaskSpec> {
    let family = if ood {
        rng.pick(&Family::OOD)
    } else {
        rng.pick(&Family::IN_DISTRIBUTION)
    };
    let rooms: Vec<&'static RoomTemplate> = (if ood { OOD_ROOMS } else { TRAIN_ROOMS })
        .iter()
        .copied()
        .filter(|room| family != Family::ExamineInLight || !room.lamps.is_empty())
        .filter(|room| !transform_options(family, room).is_empty())
        .collect();
    if rooms.is_empty() {
        return None;
    }
    let room = rng.pick(&rooms);
    let options = transform_options(family, room);
    let transforms = options[rng.below(options.len())].clone();
    let objects = goal_objects(room, family, &transforms, ood && rng.chance(1, 2));
    let object = rng.pick(&objects);

    let (receptacles, lamp) = layout(rng, room, ood, difficulty);
    let count = match family {
        Family::PickTwoAndPlace if ood => rng.between(2, 3),
        Family::PickTwoAndPlace | Family::PickTwoTransformAndPlace => 2,
        _ => 1,
    };
    let destination = if family == Family::ExamineInLight {
        Destination::Lamp
    } else {
        Destination::Receptacle(target(rng, &receptacles, &transforms, ood)?)
    };
    Some(TaskSpec {
        family,
        room,
        receptacles,
        lamp,
        goal: Goal {
            object,
            transforms,
            count,
            destination,
        },
        ood,
    })
}

/// Draws the room's receptacles (one appliance per available transform, the
/// lamp's host, the slot minimums, then random extra slots up to the drawn
/// scene size) and the lamp.
fn layout(
    rng: &mut Rng,
    room: &'static RoomTemplate,
    ood: bool,
    difficulty: Difficulty,
) -> (Vec<ReceptacleSpec>, Option<LampSpec>) {
    let (low, high) = difficulty.scene_size();
    let extra = if ood { OOD_EXTRA_RECEPTACLES } else { 0 };
    let size = rng.between(low + extra, high + extra);

    let mut counts: Vec<usize> = room.slots.iter().map(|slot| slot.min).collect();
    let lamp = (!room.lamps.is_empty()).then(|| {
        let kind = rng.pick(room.lamps);
        let host_kind = rng.pick(room.lamp_hosts);
        let host_slot = room
            .slots
            .iter()
            .position(|slot| std::ptr::eq(slot.kind, host_kind))
            .unwrap_or(0);
        counts[host_slot] = counts[host_slot].max(1);
        (kind, host_slot)
    });
    let appliances: Vec<&'static ReceptacleKind> = Transform::ALL
        .iter()
        .filter(|&&t| !room.appliances(t).is_empty())
        .map(|&t| rng.pick(room.appliances(t)))
        .collect();
    let mut total = counts.iter().sum::<usize>() + appliances.len();
    while total < size {
        let open: Vec<usize> = (0..counts.len())
            .filter(|&i| counts[i] < room.slots[i].max)
            .collect();
        if open.is_empty() {
            break;
        }
        counts[rng.pick(&open)] += 1;
        total += 1;
    }

    let mut receptacles = Vec::with_capacity(total);
    let mut lamp_spec = None;
    for (slot_index, (slot, &count)) in room.slots.iter().zip(&counts).enumerate() {
        let first = receptacles.len();
        receptacles.extend((1..=count).map(|number| ReceptacleSpec {
            kind: slot.kind,
            number: number as u8,
        }));
        if let Some((kind, host_slot)) = lamp
            && host_slot == slot_index
        {
            lamp_spec = Some(LampSpec {
                kind,
                host: first + rng.below(count),
            });
        }
    }
    receptacles.extend(
        appliances
            .into_iter()
            .map(|kind| ReceptacleSpec { kind, number: 1 }),
    );
    (receptacles, lamp_spec)
}

/// Picks the target receptacle: never the appliance of a required
/// transform; in-distribution, only a kind that occurs once in the room (so
/// "shelf 1" is "the shelf").
fn target(
    rng: &mut Rng,
    receptacles: &[ReceptacleSpec],
    transforms: &[Transform],
    ood: bool,
) -> Option<usize> {
    let unique = |kind: &ReceptacleKind| receptacles.iter().filter(|r| r.kind == kind).count() == 1;
    let candidates: Vec<usize> = (0..receptacles.len())
        .filter(|&i| {
            let kind = receptacles[i].kind;
            kind.appliance.is_none_or(|t| !transforms.contains(&t)) && (ood || unique(kind))
        })
        .collect();
    (!candidates.is_empty()).then(|| rng.pick(&candidates))
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn generation_is_deterministic() {
        for split in Split::ALL {
            for index in [0, 1, 57, task_count(split) - 1] {
                assert_eq!(
                    generate(split, index, Difficulty::Normal),
                    generate(split, index, Difficulty::Normal)
                );
            }
        }
    }

    #[test]
    fn in_distribution_splits_are_disjoint() {
        let fingerprints = |split: Split, n: u32| -> HashSet<u64> {
            (0..n)
                .map(|i| generate(split, i, Difficulty::Normal).fingerprint())
                .collect()
        };
        let train = fingerprints(Split::Train, 3_000);
        let validation = fingerprints(Split::Validation, 1_000);
        let test = fingerprints(Split::Test, 1_000);
        assert!(train.is_disjoint(&validation));
        assert!(train.is_disjoint(&test));
        assert!(validation.is_disjoint(&test));
        // Thousands of distinct tasks, not a handful repeated. A split draws
        // from a finite space of rooms x goals (about 4,500 fingerprints for
        // validation), so 1,000 draws repeat some by the birthday effect (the
        // episode seed still varies where the objects lie).
        assert!(
            train.len() > 2_800,
            "only {} distinct train tasks",
            train.len()
        );
        assert!(
            validation.len() > 850,
            "only {} distinct validation tasks",
            validation.len()
        );
    }

    #[test]
    fn families_are_balanced_and_scene_sizes_respected() {
        let mut per_family: HashMap<Family, usize> = HashMap::new();
        for index in 0..1_200 {
            let spec = generate(Split::Train, index, Difficulty::Normal);
            *per_family.entry(spec.family).or_default() += 1;
            assert!(
                (6..=10).contains(&spec.receptacles.len()),
                "{}",
                spec.receptacles.len()
            );
            assert!(!spec.ood);
        }
        assert_eq!(per_family.len(), 6);
        assert!(per_family.values().all(|&n| n > 120), "{per_family:?}");
        for index in 0..300 {
            let spec = generate(Split::Ood, index, Difficulty::Normal);
            assert!(spec.receptacles.len() >= 10, "{}", spec.receptacles.len());
        }
    }

    #[test]
    fn targets_and_goals_are_consistent() {
        for split in Split::ALL {
            for index in 0..400 {
                let spec = generate(split, index, Difficulty::Normal);
                let goal = &spec.goal;
                for &t in &goal.transforms {
                    assert!(goal.object.accepts(t));
                    assert!(spec.receptacles.iter().any(|r| r.kind.appliance == Some(t)));
                }
                match goal.destination {
                    Destination::Lamp => assert!(spec.lamp.is_some()),
                    Destination::Receptacle(i) => {
                        let kind = spec.receptacles[i].kind;
                        assert!(kind.appliance.is_none_or(|t| !goal.transforms.contains(&t)));
                        let same = spec.receptacles.iter().filter(|r| r.kind == kind).count();
                        assert!(split == Split::Ood || same == 1);
                    }
                }
            }
        }
    }

    #[test]
    fn goal_text_reads_like_alfworld() {
        let texts: Vec<String> = (0..200)
            .map(|i| generate(Split::Train, i, Difficulty::Normal).goal_text())
            .collect();
        let has = |prefix: &str, middle: &str| {
            texts
                .iter()
                .any(|t| t.starts_with(prefix) && t.contains(middle))
        };
        assert!(has("clean some ", " and put it "));
        assert!(has("heat some ", " and put it "));
        assert!(has("cool some ", " and put it "));
        assert!(has("find two ", " and put them "));
        assert!(has("examine the ", " with the desklamp."));
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("put a ") || t.starts_with("put an "))
        );
        assert!(texts.iter().all(|t| t.ends_with('.') && !t.contains("  ")));
        let ood: Vec<String> = (0..300)
            .map(|i| generate(Split::Ood, i, Difficulty::Normal).goal_text())
            .collect();
        assert!(ood.iter().any(|t| t.starts_with("clean and ")));
        assert!(ood.iter().any(|t| t.starts_with("find three ")));
    }

    #[test]
    fn difficulty_changes_scene_size() {
        let sizes = |d: Difficulty| -> (usize, usize) {
            let lens: Vec<usize> = (0..200)
                .map(|i| generate(Split::Train, i, d).receptacles.len())
                .collect();
            (*lens.iter().min().unwrap(), *lens.iter().max().unwrap())
        };
        assert_eq!(sizes(Difficulty::Easy), (5, 7));
        assert!(sizes(Difficulty::Hard).0 >= 9);
        assert_eq!(Difficulty::from_name("hard"), Some(Difficulty::Hard));
        assert_eq!(Difficulty::from_name("brutal"), None);
    }
}
#[cfg(test)]
mod probe {
    use super::*;
    #[test]
    fn probe_distinct() {
        for split in [Split::Train, Split::Validation] {
            let mut seen = std::collections::HashMap::new();
            for i in 0..2000 {
                let s = generate(split, i, Difficulty::Normal);
                *seen.entry(s.fingerprint()).or_insert(0) += 1;
            }
            let mut dups: Vec<_> = seen.iter().filter(|&(_, &c)| c > 1).collect();
            dups.sort();
            println!(
                "{split}: {} distinct of 2000; dups {}",
                seen.len(),
                dups.len()
            );
        }
        for i in 0..2000 {
            let s = generate(Split::Validation, i, Difficulty::Normal);
            let f = s.fingerprint();
            let n = (0..2000)
                .filter(|&j| generate(Split::Validation, j, Difficulty::Normal).fingerprint() == f)
                .count();
            if n > 1 {
                println!(
                    "{} {} {} {}",
                    s.family.name(),
                    s.room.name,
                    s.receptacles.len(),
                    s.goal_text()
                );
            }
            if i > 300 {
                break;
            }
        }
    }
}
