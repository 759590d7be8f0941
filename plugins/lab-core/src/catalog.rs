//! The lab's vocabulary: substances with their physics, and the names used by
//! in-distribution tasks and by structurally unseen (`ood`) tasks.
//!
//! The two vocabularies share no substance, container, plant, device, colour,
//! wire, flower-pot or trinket name, so every `ood` task talks about things no
//! training task ever mentioned.

use crate::world::Room;

/// A substance and the temperatures (°C) at which its state of matter changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Substance {
    /// Display name.
    pub name: &'static str,
    /// Below this temperature the substance is solid.
    pub melting: i32,
    /// At or above this temperature the substance is a gas.
    pub boiling: i32,
}

/// Every substance the lab knows.
pub const SUBSTANCES: &[Substance] = &[
    Substance {
        name: "water",
        melting: 0,
        boiling: 100,
    },
    Substance {
        name: "milk",
        melting: -1,
        boiling: 100,
    },
    Substance {
        name: "orange juice",
        melting: -2,
        boiling: 100,
    },
    Substance {
        name: "apple juice",
        melting: -2,
        boiling: 100,
    },
    Substance {
        name: "tea",
        melting: 0,
        boiling: 100,
    },
    Substance {
        name: "soup",
        melting: -1,
        boiling: 100,
    },
    Substance {
        name: "chocolate",
        melting: 30,
        boiling: 200,
    },
    Substance {
        name: "butter",
        melting: 35,
        boiling: 150,
    },
    Substance {
        name: "wax",
        melting: 60,
        boiling: 370,
    },
    Substance {
        name: "ice cream",
        melting: -6,
        boiling: 100,
    },
    Substance {
        name: "vinegar",
        melting: -2,
        boiling: 101,
    },
    Substance {
        name: "salt water",
        melting: -4,
        boiling: 102,
    },
    Substance {
        name: "lemonade",
        melting: -2,
        boiling: 100,
    },
    Substance {
        name: "coffee",
        melting: 0,
        boiling: 100,
    },
    Substance {
        name: "ethanol",
        melting: -114,
        boiling: 78,
    },
    Substance {
        name: "maple syrup",
        melting: -10,
        boiling: 104,
    },
    Substance {
        name: "coconut oil",
        melting: 24,
        boiling: 300,
    },
    Substance {
        name: "gallium",
        melting: 30,
        boiling: 2400,
    },
    Substance {
        name: "tin",
        melting: 232,
        boiling: 2600,
    },
];

/// The physics of the substance called `name`.
///
/// # Panics
/// If `name` is not in [`SUBSTANCES`]; vocabularies only name known ones (a
/// unit test checks it).
pub fn substance(name: &str) -> Substance {
    *SUBSTANCES
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("unknown substance `{name}`"))
}

/// An electrical device and the words for its powered and unpowered states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceName {
    /// Display name.
    pub name: &'static str,
    /// State word while powered ("glowing").
    pub on: &'static str,
    /// State word while unpowered ("dark").
    pub off: &'static str,
}

/// Every name a family of tasks may use.
#[derive(Debug)]
pub struct Vocabulary {
    /// Solids to melt.
    pub melt: &'static [&'static str],
    /// Liquids to boil.
    pub boil: &'static [&'static str],
    /// Liquids to freeze.
    pub freeze: &'static [&'static str],
    /// Substances to measure.
    pub measure: &'static [&'static str],
    /// Containers that must not go on a stove.
    pub cups: &'static [&'static str],
    /// Heat-proof containers.
    pub pots: &'static [&'static str],
    /// Plant species.
    pub plants: &'static [&'static str],
    /// Electrical devices.
    pub devices: &'static [DeviceName],
    /// Box colours.
    pub colors: &'static [&'static str],
    /// Measurement thresholds (°C).
    pub thresholds: &'static [i32],
    /// Wire names.
    pub wires: &'static [&'static str],
    /// Name of the flower pot.
    pub flower_pot: &'static str,
    /// Objects that play no part in any task.
    pub trinkets: &'static [&'static str],
    /// Rooms where task objects may be placed.
    pub rooms: &'static [Room],
}

/// Names used by the `train`, `validation` and `test` splits.
pub const IN_DISTRIBUTION: Vocabulary = Vocabulary {
    melt: &["chocolate", "butter", "wax", "ice cream"],
    boil: &["water", "milk", "soup", "tea"],
    freeze: &["water", "orange juice", "apple juice", "milk"],
    measure: &[
        "milk",
        "orange juice",
        "soup",
        "tea",
        "chocolate",
        "butter",
        "apple juice",
        "wax",
    ],
    cups: &["cup", "glass", "jug", "bowl", "jar"],
    pots: &["metal pot", "frying pan"],
    plants: &["sunflower", "tomato", "bean", "pea", "carrot", "lettuce"],
    devices: &[
        DeviceName {
            name: "light bulb",
            on: "glowing",
            off: "dark",
        },
        DeviceName {
            name: "electric motor",
            on: "spinning",
            off: "still",
        },
        DeviceName {
            name: "buzzer",
            on: "buzzing",
            off: "silent",
        },
        DeviceName {
            name: "electric fan",
            on: "whirring",
            off: "still",
        },
    ],
    colors: &["red", "blue", "green", "yellow"],
    thresholds: &[0, 10, 19, 25],
    wires: &["copper wire", "brass wire", "steel wire"],
    flower_pot: "flower pot",
    trinkets: &["spoon", "notebook", "apple", "towel", "pencil", "scissors"],
    rooms: &[
        Room::Kitchen,
        Room::Workshop,
        Room::Greenhouse,
        Room::Hallway,
    ],
};

/// Names used by the `ood` split.
pub const OUT_OF_DISTRIBUTION: Vocabulary = Vocabulary {
    melt: &["coconut oil", "gallium", "tin"],
    boil: &[
        "ethanol",
        "vinegar",
        "maple syrup",
        "salt water",
        "lemonade",
    ],
    freeze: &["vinegar", "salt water", "lemonade", "coffee"],
    measure: &[
        "vinegar",
        "salt water",
        "lemonade",
        "coffee",
        "coconut oil",
        "maple syrup",
        "ethanol",
        "gallium",
    ],
    cups: &["mug", "flask", "tumbler", "bottle"],
    pots: &["saucepan", "crucible"],
    plants: &["orchid", "pumpkin", "cactus", "basil"],
    devices: &[
        DeviceName {
            name: "electric bell",
            on: "ringing",
            off: "silent",
        },
        DeviceName {
            name: "radio",
            on: "playing",
            off: "silent",
        },
        DeviceName {
            name: "water pump",
            on: "pumping",
            off: "idle",
        },
    ],
    colors: &["orange", "purple", "white"],
    thresholds: &[-5, 15, 35],
    wires: &["silver wire", "gold wire", "aluminium wire"],
    flower_pot: "seed tray",
    trinkets: &["stapler", "umbrella", "compass", "whistle"],
    rooms: &[
        Room::Kitchen,
        Room::Workshop,
        Room::Greenhouse,
        Room::Hallway,
        Room::Storage,
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn names(vocabulary: &Vocabulary) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for list in [
            vocabulary.melt,
            vocabulary.boil,
            vocabulary.freeze,
            vocabulary.measure,
            vocabulary.cups,
            vocabulary.pots,
            vocabulary.plants,
            vocabulary.colors,
            vocabulary.wires,
            vocabulary.trinkets,
        ] {
            names.extend_from_slice(list);
        }
        names.extend(vocabulary.devices.iter().map(|d| d.name));
        names.push(vocabulary.flower_pot);
        names
    }

    #[test]
    fn every_named_substance_is_known() {
        for vocabulary in [&IN_DISTRIBUTION, &OUT_OF_DISTRIBUTION] {
            for list in [
                vocabulary.melt,
                vocabulary.boil,
                vocabulary.freeze,
                vocabulary.measure,
            ] {
                for name in list {
                    let s = substance(name);
                    assert!(s.melting < s.boiling, "{name}");
                }
            }
        }
    }

    #[test]
    fn ood_names_are_unseen_in_distribution() {
        let seen = names(&IN_DISTRIBUTION);
        for name in names(&OUT_OF_DISTRIBUTION) {
            assert!(
                !seen.contains(&name),
                "`{name}` appears in both vocabularies"
            );
        }
        let in_thresholds = IN_DISTRIBUTION.thresholds;
        assert!(
            OUT_OF_DISTRIBUTION
                .thresholds
                .iter()
                .all(|t| !in_thresholds.contains(t))
        );
        assert!(!IN_DISTRIBUTION.rooms.contains(&Room::Storage));
        assert!(OUT_OF_DISTRIBUTION.rooms.contains(&Room::Storage));
    }
}
