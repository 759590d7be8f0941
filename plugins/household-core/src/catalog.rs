//! The household's vocabulary: receptacle kinds, object kinds, lamps and room
//! templates.
//!
//! Everything marked `ood_only` appears only in `ood` tasks: new rooms
//! (a workshop, a studio flat, a canteen, a laundry room, a study), new
//! receptacles (cupboards, lockers, workbenches, ovens, freezers, ...), new
//! objects (carrots, teacups, staplers, ...) and a new lamp (`floorlamp`).

/// Object classes: which receptacles an object may start in.
pub mod class {
    /// Fruit, vegetables, bread, eggs.
    pub const FOOD: u8 = 1;
    /// Mugs, cups, bowls, plates, pans, pots.
    pub const DISH: u8 = 2;
    /// Cutlery and kitchen tools.
    pub const UTENSIL: u8 = 4;
    /// Soap, cloths, toilet paper and other bathroom things.
    pub const BATH: u8 = 8;
    /// Books, pens, phones, keys and other small things.
    pub const SMALL: u8 = 16;
    /// Every class.
    pub const ANY: u8 = FOOD | DISH | UTENSIL | BATH | SMALL;
}

/// What an appliance does to the object the agent holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transform {
    /// Washing at a sink basin: makes the object clean.
    Clean,
    /// Heating in a microwave or oven: makes the object hot (and not cold).
    Heat,
    /// Cooling in a fridge or freezer: makes the object cold (and not hot).
    Cool,
}

impl Transform {
    /// Every transform, in a fixed order.
    pub const ALL: [Transform; 3] = [Transform::Clean, Transform::Heat, Transform::Cool];

    /// The verb of the action ("clean mug 1 with sinkbasin 1").
    pub fn verb(self) -> &'static str {
        match self {
            Transform::Clean => "clean",
            Transform::Heat => "heat",
            Transform::Cool => "cool",
        }
    }

    /// Whether an object in states `(clean, hot, cold)` shows this transform.
    pub fn achieved(self, clean: bool, hot: bool, cold: bool) -> bool {
        match self {
            Transform::Clean => clean,
            Transform::Heat => hot,
            Transform::Cool => cold,
        }
    }

    /// The adjective of the goal ("put a hot mug ...").
    pub fn adjective(self) -> &'static str {
        match self {
            Transform::Clean => "clean",
            Transform::Heat => "hot",
            Transform::Cool => "cool",
        }
    }
}

/// A kind of receptacle: a place that holds objects.
#[derive(Debug, PartialEq, Eq)]
pub struct ReceptacleKind {
    /// Name as written in actions ("cabinet").
    pub name: &'static str,
    /// Must be opened before its contents can be seen, taken or added to.
    pub openable: bool,
    /// Objects go "in" it (otherwise "on" it), as in the goal text.
    pub inside: bool,
    /// The transform it applies to a held object, if it is an appliance.
    pub appliance: Option<Transform>,
    /// Object classes that may start in it (see [`class`]).
    pub holds: u8,
    /// Appears only in `ood` tasks.
    pub ood_only: bool,
}

impl ReceptacleKind {
    /// "in" or "on", as in "put a mug in cabinet 1".
    pub fn preposition(&self) -> &'static str {
        if self.inside { "in" } else { "on" }
    }
}

/// A kind of portable object.
#[derive(Debug, PartialEq, Eq)]
pub struct ObjectKind {
    /// Name as written in actions ("mug").
    pub name: &'static str,
    /// Plural, for "put two mugs in ...".
    pub plural: &'static str,
    /// Its class (see [`class`]).
    pub class: u8,
    /// Transforms that have an effect on it.
    pub transforms: &'static [Transform],
    /// Appears only in `ood` tasks.
    pub ood_only: bool,
}

impl ObjectKind {
    /// Whether `transform` has an effect on objects of this kind.
    pub fn accepts(&self, transform: Transform) -> bool {
        self.transforms.contains(&transform)
    }

    /// "a" or "an" before the name.
    pub fn article(&self) -> &'static str {
        article(self.name)
    }
}

/// "a" or "an" before `word`.
pub fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "an",
        _ => "a",
    }
}

/// A lamp the agent can switch on ("use desklamp 1").
#[derive(Debug, PartialEq, Eq)]
pub struct LampKind {
    /// Name as written in actions.
    pub name: &'static str,
    /// Appears only in `ood` tasks.
    pub ood_only: bool,
}

/// How many receptacles of one kind a room may have.
#[derive(Debug, PartialEq, Eq)]
pub struct Slot {
    /// The kind.
    pub kind: &'static ReceptacleKind,
    /// Fewest instances.
    pub min: usize,
    /// Most instances.
    pub max: usize,
}

/// A kind of room: which receptacles, appliances, lamps and objects it has.
#[derive(Debug, PartialEq, Eq)]
pub struct RoomTemplate {
    /// Name shown to the agent ("kitchen").
    pub name: &'static str,
    /// Ordinary receptacles and how many of each.
    pub slots: &'static [Slot],
    /// Appliance options per transform (one is chosen per task); empty when
    /// the room cannot apply that transform.
    pub cleaners: &'static [&'static ReceptacleKind],
    /// Heating appliance options.
    pub heaters: &'static [&'static ReceptacleKind],
    /// Cooling appliance options.
    pub coolers: &'static [&'static ReceptacleKind],
    /// Lamp options (empty when the room has no lamp).
    pub lamps: &'static [&'static LampKind],
    /// Receptacle kinds a lamp may stand on (each is among `slots`).
    pub lamp_hosts: &'static [&'static ReceptacleKind],
    /// Object kinds found in the room.
    pub objects: &'static [&'static ObjectKind],
    /// Appears only in `ood` tasks.
    pub ood_only: bool,
}

impl RoomTemplate {
    /// Appliance options for `transform`.
    pub fn appliances(&self, transform: Transform) -> &'static [&'static ReceptacleKind] {
        match transform {
            Transform::Clean => self.cleaners,
            Transform::Heat => self.heaters,
            Transform::Cool => self.coolers,
        }
    }
}

macro_rules! receptacles {
    ($($ident:ident: $name:literal, $open:literal, $inside:literal, $app:expr, $holds:expr, $ood:literal;)*) => {
        $(
            #[doc = concat!("The `", $name, "` receptacle kind.")]
            pub static $ident: ReceptacleKind = ReceptacleKind {
                name: $name,
                openable: $open,
                inside: $inside,
                appliance: $app,
                holds: $holds,
                ood_only: $ood,
            };
        )*
        /// Every receptacle kind.
        pub static RECEPTACLE_KINDS: &[&ReceptacleKind] = &[$(&$ident),*];
    };
}

macro_rules! objects {
    ($($ident:ident: $name:literal, $plural:literal, $class:expr, [$($t:ident),*], $ood:literal;)*) => {
        $(
            #[doc = concat!("The `", $name, "` object kind.")]
            pub static $ident: ObjectKind = ObjectKind {
                name: $name,
                plural: $plural,
                class: $class,
                transforms: &[$(Transform::$t),*],
                ood_only: $ood,
            };
        )*
        /// Every object kind.
        pub static OBJECT_KINDS: &[&ObjectKind] = &[$(&$ident),*];
    };
}

use Transform::{Clean, Cool, Heat};
use class::{ANY, BATH, DISH, FOOD, SMALL, UTENSIL};

receptacles! {
    CABINET: "cabinet", true, true, None, DISH | BATH | SMALL, false;
    DRAWER: "drawer", true, true, None, UTENSIL | SMALL | BATH, false;
    COUNTERTOP: "countertop", false, false, None, ANY, false;
    SHELF: "shelf", false, false, None, DISH | SMALL | BATH, false;
    FRIDGE: "fridge", true, true, Some(Cool), FOOD | DISH, false;
    MICROWAVE: "microwave", true, true, Some(Heat), FOOD | DISH, false;
    SINKBASIN: "sinkbasin", false, true, Some(Clean), DISH | UTENSIL | FOOD, false;
    STOVEBURNER: "stoveburner", false, false, None, DISH, false;
    DININGTABLE: "diningtable", false, false, None, ANY, false;
    COFFEEMACHINE: "coffeemachine", false, false, None, DISH, false;
    GARBAGECAN: "garbagecan", false, true, None, FOOD | BATH | SMALL, false;
    BATHTUBBASIN: "bathtubbasin", false, true, None, BATH, false;
    TOILET: "toilet", false, false, None, BATH, false;
    TOWELHOLDER: "towelholder", false, false, None, BATH, false;
    DRESSER: "dresser", false, false, None, SMALL, false;
    BED: "bed", false, false, None, SMALL, false;
    DESK: "desk", false, false, None, SMALL, false;
    SIDETABLE: "sidetable", false, false, None, SMALL, false;
    SOFA: "sofa", false, false, None, SMALL, false;
    ARMCHAIR: "armchair", false, false, None, SMALL, false;
    COFFEETABLE: "coffeetable", false, false, None, SMALL | DISH, false;
    TVSTAND: "tvstand", false, false, None, SMALL, false;
    SAFE: "safe", true, true, None, SMALL, false;
    CUPBOARD: "cupboard", true, true, None, DISH | FOOD | SMALL, true;
    SIDEBOARD: "sideboard", false, false, None, DISH | SMALL, true;
    WORKBENCH: "workbench", false, false, None, ANY, true;
    TOOLBOX: "toolbox", true, true, None, UTENSIL | SMALL, true;
    LOCKER: "locker", true, true, None, SMALL | BATH, true;
    BOOKCASE: "bookcase", false, false, None, SMALL, true;
    NIGHTSTAND: "nightstand", false, false, None, SMALL, true;
    KITCHENISLAND: "kitchenisland", false, false, None, ANY, true;
    CHEST: "chest", true, true, None, SMALL | BATH, true;
    RACK: "rack", false, false, None, DISH | BATH | UTENSIL, true;
    BASKET: "basket", false, true, None, SMALL | BATH | FOOD, true;
    OVEN: "oven", true, true, Some(Heat), FOOD | DISH, true;
    FREEZER: "freezer", true, true, Some(Cool), FOOD, true;
    WASHBASIN: "washbasin", false, true, Some(Clean), DISH | UTENSIL | BATH, true;
}

objects! {
    APPLE: "apple", "apples", FOOD, [Clean, Heat, Cool], false;
    TOMATO: "tomato", "tomatoes", FOOD, [Clean, Heat, Cool], false;
    POTATO: "potato", "potatoes", FOOD, [Clean, Heat, Cool], false;
    EGG: "egg", "eggs", FOOD, [Heat, Cool], false;
    BREAD: "bread", "breads", FOOD, [Heat, Cool], false;
    LETTUCE: "lettuce", "lettuces", FOOD, [Clean, Cool], false;
    MUG: "mug", "mugs", DISH, [Clean, Heat, Cool], false;
    CUP: "cup", "cups", DISH, [Clean, Heat, Cool], false;
    BOWL: "bowl", "bowls", DISH, [Clean, Heat, Cool], false;
    PLATE: "plate", "plates", DISH, [Clean, Heat, Cool], false;
    PAN: "pan", "pans", DISH, [Clean, Cool], false;
    POT: "pot", "pots", DISH, [Clean, Cool], false;
    KNIFE: "knife", "knives", UTENSIL, [Clean], false;
    FORK: "fork", "forks", UTENSIL, [Clean], false;
    SPOON: "spoon", "spoons", UTENSIL, [Clean], false;
    SPATULA: "spatula", "spatulas", UTENSIL, [Clean], false;
    SOAPBAR: "soapbar", "soapbars", BATH, [Clean], false;
    CLOTH: "cloth", "cloths", BATH, [Clean], false;
    SPONGE: "sponge", "sponges", BATH, [Clean], false;
    TOILETPAPER: "toiletpaper", "toiletpapers", BATH, [], false;
    SPRAYBOTTLE: "spraybottle", "spraybottles", BATH, [], false;
    SOAPBOTTLE: "soapbottle", "soapbottles", BATH, [], false;
    CANDLE: "candle", "candles", BATH, [], false;
    BOOK: "book", "books", SMALL, [], false;
    PEN: "pen", "pens", SMALL, [], false;
    PENCIL: "pencil", "pencils", SMALL, [], false;
    CD: "cd", "cds", SMALL, [], false;
    CELLPHONE: "cellphone", "cellphones", SMALL, [], false;
    ALARMCLOCK: "alarmclock", "alarmclocks", SMALL, [], false;
    KEYCHAIN: "keychain", "keychains", SMALL, [], false;
    CREDITCARD: "creditcard", "creditcards", SMALL, [], false;
    REMOTECONTROL: "remotecontrol", "remotecontrols", SMALL, [], false;
    WATCH: "watch", "watches", SMALL, [], false;
    VASE: "vase", "vases", SMALL, [], false;
    STATUE: "statue", "statues", SMALL, [], false;
    NEWSPAPER: "newspaper", "newspapers", SMALL, [], false;
    CARROT: "carrot", "carrots", FOOD, [Clean, Heat, Cool], true;
    ONION: "onion", "onions", FOOD, [Clean, Heat, Cool], true;
    PEACH: "peach", "peaches", FOOD, [Clean, Heat, Cool], true;
    CHEESE: "cheese", "cheeses", FOOD, [Heat, Cool], true;
    TEACUP: "teacup", "teacups", DISH, [Clean, Heat, Cool], true;
    JAR: "jar", "jars", DISH, [Clean, Cool], true;
    KETTLE: "kettle", "kettles", DISH, [Clean, Heat, Cool], true;
    LADLE: "ladle", "ladles", UTENSIL, [Clean], true;
    WHISK: "whisk", "whisks", UTENSIL, [Clean], true;
    TONGS: "tongs", "tongs", UTENSIL, [Clean], true;
    LOOFAH: "loofah", "loofahs", BATH, [Clean], true;
    SHAMPOO: "shampoo", "shampoos", BATH, [], true;
    NOTEBOOK: "notebook", "notebooks", SMALL, [], true;
    STAPLER: "stapler", "staplers", SMALL, [], true;
    WALLET: "wallet", "wallets", SMALL, [], true;
    HEADPHONES: "headphones", "headphones", SMALL, [], true;
    RULER: "ruler", "rulers", SMALL, [], true;
    FLASHLIGHT: "flashlight", "flashlights", SMALL, [], true;
}

/// The desk lamp of bedrooms and living rooms.
pub static DESKLAMP: LampKind = LampKind {
    name: "desklamp",
    ood_only: false,
};
/// The floor lamp of some `ood` rooms.
pub static FLOORLAMP: LampKind = LampKind {
    name: "floorlamp",
    ood_only: true,
};

/// Shorthand for a [`Slot`].
const fn slot(kind: &'static ReceptacleKind, min: usize, max: usize) -> Slot {
    Slot { kind, min, max }
}

/// A kitchen: every appliance, food, dishes and cutlery.
pub static KITCHEN: RoomTemplate = RoomTemplate {
    name: "kitchen",
    slots: &[
        slot(&COUNTERTOP, 1, 3),
        slot(&CABINET, 1, 4),
        slot(&DRAWER, 0, 3),
        slot(&STOVEBURNER, 0, 2),
        slot(&DININGTABLE, 0, 1),
        slot(&COFFEEMACHINE, 0, 1),
        slot(&SHELF, 0, 2),
        slot(&GARBAGECAN, 0, 1),
    ],
    cleaners: &[&SINKBASIN],
    heaters: &[&MICROWAVE],
    coolers: &[&FRIDGE],
    lamps: &[],
    lamp_hosts: &[],
    objects: &[
        &APPLE,
        &TOMATO,
        &POTATO,
        &EGG,
        &BREAD,
        &LETTUCE,
        &MUG,
        &CUP,
        &BOWL,
        &PLATE,
        &PAN,
        &POT,
        &KNIFE,
        &FORK,
        &SPOON,
        &SPATULA,
        &SPRAYBOTTLE,
        &CREDITCARD,
    ],
    ood_only: false,
};

/// A bathroom: a sink basin and bathroom things.
pub static BATHROOM: RoomTemplate = RoomTemplate {
    name: "bathroom",
    slots: &[
        slot(&COUNTERTOP, 1, 2),
        slot(&CABINET, 1, 3),
        slot(&DRAWER, 0, 2),
        slot(&BATHTUBBASIN, 0, 1),
        slot(&TOILET, 1, 1),
        slot(&TOWELHOLDER, 0, 1),
        slot(&SHELF, 0, 2),
        slot(&GARBAGECAN, 0, 1),
    ],
    cleaners: &[&SINKBASIN],
    heaters: &[],
    coolers: &[],
    lamps: &[],
    lamp_hosts: &[],
    objects: &[
        &SOAPBAR,
        &CLOTH,
        &SPONGE,
        &TOILETPAPER,
        &SPRAYBOTTLE,
        &SOAPBOTTLE,
        &CANDLE,
        &CUP,
    ],
    ood_only: false,
};

/// A bedroom: a desk lamp and small things.
pub static BEDROOM: RoomTemplate = RoomTemplate {
    name: "bedroom",
    slots: &[
        slot(&BED, 1, 1),
        slot(&DESK, 0, 1),
        slot(&SIDETABLE, 1, 2),
        slot(&DRESSER, 0, 1),
        slot(&DRAWER, 1, 3),
        slot(&SHELF, 0, 2),
        slot(&SAFE, 0, 1),
        slot(&ARMCHAIR, 0, 1),
        slot(&GARBAGECAN, 0, 1),
    ],
    cleaners: &[],
    heaters: &[],
    coolers: &[],
    lamps: &[&DESKLAMP],
    lamp_hosts: &[&DESK, &SIDETABLE],
    objects: &[
        &BOOK,
        &PEN,
        &PENCIL,
        &CD,
        &CELLPHONE,
        &ALARMCLOCK,
        &KEYCHAIN,
        &CREDITCARD,
        &WATCH,
    ],
    ood_only: false,
};

/// A living room: a desk lamp, sofas, small things.
pub static LIVINGROOM: RoomTemplate = RoomTemplate {
    name: "livingroom",
    slots: &[
        slot(&SOFA, 1, 1),
        slot(&ARMCHAIR, 0, 1),
        slot(&COFFEETABLE, 1, 1),
        slot(&SIDETABLE, 1, 2),
        slot(&TVSTAND, 0, 1),
        slot(&SHELF, 0, 2),
        slot(&DRAWER, 0, 2),
        slot(&CABINET, 0, 2),
        slot(&GARBAGECAN, 0, 1),
    ],
    cleaners: &[],
    heaters: &[],
    coolers: &[],
    lamps: &[&DESKLAMP],
    lamp_hosts: &[&SIDETABLE],
    objects: &[
        &REMOTECONTROL,
        &KEYCHAIN,
        &CREDITCARD,
        &BOOK,
        &VASE,
        &STATUE,
        &WATCH,
        &NEWSPAPER,
        &CELLPHONE,
    ],
    ood_only: false,
};

/// A workshop (`ood`): workbenches, toolboxes, a wash basin, a floor lamp.
pub static WORKSHOP: RoomTemplate = RoomTemplate {
    name: "workshop",
    slots: &[
        slot(&WORKBENCH, 1, 2),
        slot(&TOOLBOX, 1, 2),
        slot(&SHELF, 1, 2),
        slot(&CABINET, 1, 3),
        slot(&RACK, 0, 1),
        slot(&DRAWER, 0, 3),
        slot(&LOCKER, 0, 2),
        slot(&GARBAGECAN, 0, 1),
        slot(&BASKET, 0, 1),
    ],
    cleaners: &[&WASHBASIN],
    heaters: &[],
    coolers: &[],
    lamps: &[&FLOORLAMP, &DESKLAMP],
    lamp_hosts: &[&WORKBENCH],
    objects: &[
        &KNIFE,
        &SPATULA,
        &LADLE,
        &WHISK,
        &TONGS,
        &CLOTH,
        &SPONGE,
        &LOOFAH,
        &SPRAYBOTTLE,
        &FLASHLIGHT,
        &RULER,
        &STAPLER,
        &NOTEBOOK,
        &KEYCHAIN,
        &HEADPHONES,
    ],
    ood_only: true,
};

/// A studio flat (`ood`): a kitchen and a bedroom in one room.
pub static STUDIO: RoomTemplate = RoomTemplate {
    name: "studio",
    slots: &[
        slot(&KITCHENISLAND, 0, 1),
        slot(&CUPBOARD, 1, 3),
        slot(&COUNTERTOP, 1, 2),
        slot(&BED, 1, 1),
        slot(&NIGHTSTAND, 1, 2),
        slot(&DESK, 0, 1),
        slot(&BOOKCASE, 0, 1),
        slot(&DRAWER, 0, 3),
        slot(&SHELF, 0, 2),
        slot(&GARBAGECAN, 0, 1),
    ],
    cleaners: &[&SINKBASIN, &WASHBASIN],
    heaters: &[&MICROWAVE, &OVEN],
    coolers: &[&FRIDGE, &FREEZER],
    lamps: &[&DESKLAMP, &FLOORLAMP],
    lamp_hosts: &[&NIGHTSTAND, &DESK],
    objects: &[
        &APPLE,
        &CARROT,
        &PEACH,
        &CHEESE,
        &EGG,
        &MUG,
        &TEACUP,
        &BOWL,
        &KETTLE,
        &FORK,
        &WHISK,
        &BOOK,
        &NOTEBOOK,
        &WALLET,
        &CELLPHONE,
        &HEADPHONES,
        &ALARMCLOCK,
    ],
    ood_only: true,
};

/// A canteen kitchen (`ood`): cupboards, an island, oven and freezer options.
pub static CANTEEN: RoomTemplate = RoomTemplate {
    name: "canteen",
    slots: &[
        slot(&CUPBOARD, 1, 3),
        slot(&SIDEBOARD, 1, 1),
        slot(&KITCHENISLAND, 1, 1),
        slot(&CABINET, 1, 3),
        slot(&DRAWER, 1, 3),
        slot(&RACK, 0, 1),
        slot(&SHELF, 0, 2),
        slot(&BASKET, 0, 1),
        slot(&COUNTERTOP, 0, 2),
        slot(&STOVEBURNER, 0, 2),
    ],
    cleaners: &[&WASHBASIN, &SINKBASIN],
    heaters: &[&OVEN, &MICROWAVE],
    coolers: &[&FREEZER, &FRIDGE],
    lamps: &[],
    lamp_hosts: &[],
    objects: &[
        &CARROT, &ONION, &PEACH, &CHEESE, &TOMATO, &POTATO, &TEACUP, &JAR, &KETTLE, &PLATE, &POT,
        &LADLE, &WHISK, &TONGS, &SPOON, &KNIFE,
    ],
    ood_only: true,
};

/// A laundry room (`ood`): lockers, chests, racks, baskets, a wash basin.
pub static LAUNDRY: RoomTemplate = RoomTemplate {
    name: "laundry",
    slots: &[
        slot(&LOCKER, 1, 2),
        slot(&CHEST, 0, 1),
        slot(&RACK, 1, 2),
        slot(&BASKET, 1, 2),
        slot(&SHELF, 1, 2),
        slot(&CABINET, 0, 2),
        slot(&COUNTERTOP, 0, 1),
        slot(&DRAWER, 0, 2),
        slot(&GARBAGECAN, 0, 1),
    ],
    cleaners: &[&WASHBASIN],
    heaters: &[],
    coolers: &[],
    lamps: &[],
    lamp_hosts: &[],
    objects: &[
        &CLOTH,
        &SPONGE,
        &LOOFAH,
        &SOAPBAR,
        &SHAMPOO,
        &SOAPBOTTLE,
        &SPRAYBOTTLE,
        &CANDLE,
        &WALLET,
        &KEYCHAIN,
    ],
    ood_only: true,
};

/// A study (`ood`): bookcases, a desk, a floor or desk lamp.
pub static STUDY: RoomTemplate = RoomTemplate {
    name: "study",
    slots: &[
        slot(&BOOKCASE, 1, 3),
        slot(&DESK, 1, 1),
        slot(&CHEST, 0, 1),
        slot(&ARMCHAIR, 0, 1),
        slot(&SIDEBOARD, 0, 1),
        slot(&SHELF, 0, 2),
        slot(&DRAWER, 1, 3),
        slot(&SAFE, 0, 1),
        slot(&NIGHTSTAND, 0, 1),
        slot(&GARBAGECAN, 0, 1),
    ],
    cleaners: &[],
    heaters: &[],
    coolers: &[],
    lamps: &[&FLOORLAMP, &DESKLAMP],
    lamp_hosts: &[&DESK],
    objects: &[
        &BOOK,
        &NOTEBOOK,
        &STAPLER,
        &RULER,
        &PEN,
        &PENCIL,
        &WALLET,
        &HEADPHONES,
        &FLASHLIGHT,
        &WATCH,
        &CD,
        &VASE,
    ],
    ood_only: true,
};

/// Rooms of the `train`, `validation` and `test` splits.
pub static TRAIN_ROOMS: &[&RoomTemplate] = &[&KITCHEN, &BATHROOM, &BEDROOM, &LIVINGROOM];
/// Rooms of the `ood` split.
pub static OOD_ROOMS: &[&RoomTemplate] = &[&WORKSHOP, &STUDIO, &CANTEEN, &LAUNDRY, &STUDY];

#[cfg(test)]
mod tests {
    use super::*;

    fn appliances(room: &RoomTemplate) -> impl Iterator<Item = &'static ReceptacleKind> {
        Transform::ALL
            .into_iter()
            .flat_map(|t| room.appliances(t).iter().copied())
    }

    #[test]
    fn names_are_unique_single_words() {
        let mut names: Vec<&str> = RECEPTACLE_KINDS.iter().map(|k| k.name).collect();
        names.extend(OBJECT_KINDS.iter().map(|k| k.name));
        names.extend([DESKLAMP.name, FLOORLAMP.name]);
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is used twice");
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase()))
        );
    }

    #[test]
    fn train_rooms_use_only_train_vocabulary() {
        for room in TRAIN_ROOMS {
            assert!(!room.ood_only);
            assert!(room.slots.iter().all(|s| !s.kind.ood_only), "{}", room.name);
            assert!(appliances(room).all(|k| !k.ood_only), "{}", room.name);
            assert!(room.objects.iter().all(|k| !k.ood_only), "{}", room.name);
            assert!(room.lamps.iter().all(|k| !k.ood_only), "{}", room.name);
        }
    }

    #[test]
    fn every_ood_room_requires_an_unseen_receptacle() {
        for room in OOD_ROOMS {
            assert!(room.ood_only);
            assert!(
                room.slots.iter().any(|s| s.kind.ood_only && s.min > 0),
                "{} could be built from train receptacles only",
                room.name
            );
        }
    }

    #[test]
    fn appliances_match_their_role_and_slots_are_plain() {
        for room in TRAIN_ROOMS.iter().chain(OOD_ROOMS) {
            for transform in Transform::ALL {
                for kind in room.appliances(transform) {
                    assert_eq!(kind.appliance, Some(transform), "{}", kind.name);
                }
            }
            for slot in room.slots {
                assert!(slot.kind.appliance.is_none() && slot.min <= slot.max);
            }
            for host in room.lamp_hosts {
                assert!(room.slots.iter().any(|s| std::ptr::eq(s.kind, *host)));
            }
            assert_eq!(
                room.lamps.is_empty(),
                room.lamp_hosts.is_empty(),
                "{}",
                room.name
            );
        }
    }

    #[test]
    fn every_room_object_fits_some_room_receptacle() {
        for room in TRAIN_ROOMS.iter().chain(OOD_ROOMS) {
            for object in room.objects {
                let fits = room.slots.iter().any(|s| s.kind.holds & object.class != 0);
                assert!(fits, "{} has no place in {}", object.name, room.name);
            }
        }
    }

    #[test]
    fn articles_follow_the_first_letter() {
        assert_eq!(APPLE.article(), "an");
        assert_eq!(MUG.article(), "a");
        assert_eq!(article("egg"), "an");
    }
}
