"""ImageNet classes as readable labels with parents (espresso -> Coffee -> Beverage).

The 1000 ILSVRC-2012 class names ship beside this module (``data/imagenet_classes.txt``,
first synonym of each class, from OpenCV's samples). Parents come from index ranges of
the ImageNet order (animals first, grouped by family) and from a hand-made table of the
objects a photo service is asked about most (vehicles, food, furniture, electronics);
category names follow the COCO names where they overlap, so labels can be scored against
COCO annotations.

Examples
--------
>>> from aiflywheel.kinds.vision.taxonomy import chain
>>> chain(967)
['Espresso', 'Coffee', 'Beverage']
>>> chain(207)[-2:]
['Dog', 'Animal']
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CLASSES_FILE = Path(__file__).parent / "data" / "imagenet_classes.txt"

# Half-open index ranges of the ImageNet order -> parent chain (nearest first).
RANGES: list[tuple[int, int, tuple[str, ...]]] = [
    (0, 7, ("Fish", "Animal")),
    (7, 25, ("Bird", "Animal")),
    (25, 33, ("Amphibian", "Animal")),
    (33, 69, ("Reptile", "Animal")),
    (69, 127, ("Invertebrate", "Animal")),
    (127, 147, ("Bird", "Animal")),
    (147, 151, ("Marine mammal", "Mammal", "Animal")),
    (151, 269, ("Dog", "Mammal", "Animal")),
    (269, 281, ("Wild dog", "Mammal", "Animal")),
    (281, 286, ("Cat", "Mammal", "Animal")),
    (286, 294, ("Wild cat", "Mammal", "Animal")),
    (294, 298, ("Bear", "Mammal", "Animal")),
    (298, 300, ("Mammal", "Animal")),
    (300, 327, ("Insect", "Animal")),
    (327, 330, ("Invertebrate", "Animal")),
    (330, 333, ("Rabbit", "Mammal", "Animal")),
    (333, 339, ("Rodent", "Mammal", "Animal")),
    (339, 340, ("Horse", "Mammal", "Animal")),
    (340, 341, ("Zebra", "Mammal", "Animal")),
    (341, 345, ("Pig", "Mammal", "Animal")),
    (345, 348, ("Cow", "Mammal", "Animal")),
    (348, 351, ("Sheep", "Mammal", "Animal")),
    (351, 356, ("Mammal", "Animal")),
    (356, 365, ("Mammal", "Animal")),
    (365, 385, ("Primate", "Mammal", "Animal")),
    (385, 387, ("Elephant", "Mammal", "Animal")),
    (387, 389, ("Panda", "Mammal", "Animal")),
    (389, 398, ("Fish", "Animal")),
    (924, 936, ("Food",)),
    (936, 948, ("Vegetable", "Food")),
    (948, 958, ("Fruit", "Food")),
    (959, 966, ("Food",)),
]

VEHICLE, FOOD, FURNITURE, ELECTRONICS = ("Vehicle",), ("Food",), ("Furniture",), ("Electronics",)
KITCHEN, SPORTS = ("Kitchenware",), ("Sports equipment",)
# ImageNet index -> parent chain, for objects (indices 398-999).
OBJECTS: dict[int, tuple[str, ...]] = {
    **dict.fromkeys((407, 436, 468, 511, 609, 627, 656, 661, 751, 817), ("Car", *VEHICLE)),
    **dict.fromkeys((555, 569, 675, 717, 734, 864, 867), ("Truck", *VEHICLE)),
    **dict.fromkeys((654, 779, 874), ("Bus", *VEHICLE)),
    **dict.fromkeys((466, 547, 565, 705, 820, 829), ("Train", *VEHICLE)),
    **dict.fromkeys((665, 670), ("Motorcycle", *VEHICLE)),
    **dict.fromkeys((444, 671, 870, 880), ("Bicycle", *VEHICLE)),
    **dict.fromkeys((472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914), ("Boat", *VEHICLE)),
    **dict.fromkeys((404, 895, 908), ("Airplane", *VEHICLE)),
    **dict.fromkeys((423, 559, 765, 857), ("Chair", *FURNITURE)),
    831: ("Couch", *FURNITURE),
    564: ("Bed", *FURNITURE),
    532: ("Dining table", *FURNITURE),
    526: ("Desk", *FURNITURE),
    703: ("Bench", *FURNITURE),
    **dict.fromkeys((664, 782, 851), ("TV", *ELECTRONICS)),
    **dict.fromkeys((620, 681), ("Laptop", *ELECTRONICS)),
    508: ("Keyboard", *ELECTRONICS),
    673: ("Mouse", *ELECTRONICS),
    487: ("Cell phone", *ELECTRONICS),
    651: ("Microwave", "Appliance"),
    859: ("Toaster", "Appliance"),
    760: ("Refrigerator", "Appliance"),
    766: ("Oven", "Appliance"),
    827: ("Oven", "Appliance"),
    **dict.fromkeys((429, 430, 522, 574, 768, 805, 852), ("Sports ball", *SPORTS)),
    795: ("Skis", *SPORTS),
    752: ("Tennis racket", *SPORTS),
    **dict.fromkeys((440, 720, 737, 898, 907), ("Bottle", *KITCHEN)),
    **dict.fromkeys((504, 968), ("Cup", *KITCHEN)),
    **dict.fromkeys((659, 809), ("Bowl", *KITCHEN)),
    883: ("Vase",),
    **dict.fromkeys((409, 530, 892), ("Clock",)),
    879: ("Umbrella",),
    414: ("Backpack",),
    748: ("Handbag",),
    850: ("Teddy bear", "Toy"),
    920: ("Traffic light",),
    919: ("Street sign",),
    704: ("Parking meter",),
    861: ("Toilet",),
    896: ("Sink",),
    738: ("Potted plant", "Plant"),
    934: ("Hot dog", *FOOD),
    963: ("Pizza", *FOOD),
    966: ("Wine", "Beverage"),
    967: ("Coffee", "Beverage"),
    969: ("Beverage",),
}


@lru_cache(maxsize=1)
def class_names() -> list[str]:
    names = [line.strip() for line in CLASSES_FILE.read_text().splitlines() if line.strip()]
    if len(names) != 1000:
        raise RuntimeError(f"{CLASSES_FILE} must list the 1000 ImageNet classes, it has {len(names)}")
    return names


def readable(name: str) -> str:
    return name[:1].upper() + name[1:]


def parents(index: int) -> tuple[str, ...]:
    if index in OBJECTS:
        return OBJECTS[index]
    for start, stop, chain_ in RANGES:
        if start <= index < stop:
            return chain_
    return ()


def chain(index: int) -> list[str]:
    """The class's readable name then its parents, without repeats (``broccoli`` -> Broccoli, Vegetable, Food)."""
    out = [readable(class_names()[index])]
    for parent in parents(index):
        if parent.lower() != out[-1].lower() and parent not in out:
            out.append(parent)
    return out
