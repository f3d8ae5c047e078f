"""Word lists behind the synthetic catalogs.

The generator only combines what is written here, so realism lives in this file: categories
with their attribute schemas, brands and product lines (with a model-number prefix each),
unit spellings and the abbreviation/synonym table that platform B uses to reword titles, and
a small Chinese vocabulary for cross-border (Chinese-English) matching.

Two rules keep the generator correct, and ``tests/synth`` checks them:

* every attribute named in a category's ``varying`` has at least ``MAX_FAMILY_SIZE`` values,
  so the near-miss siblings of one product family always get distinct values;
* attribute values are canonical strings ("512 GB", "15.6 inch"); platform A prints them
  as they are and platform B picks one of :func:`alternatives`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

__all__ = [
    "CATEGORIES",
    "CLOSINGS",
    "MARKETING",
    "MAX_FAMILY_SIZE",
    "MODEL_SUFFIXES",
    "REGIONAL_SUFFIXES",
    "SYNONYMS",
    "ZH_BRANDS",
    "ZH_CATEGORY_NAMES",
    "ZH_MARKETING",
    "ZH_SENTENCES",
    "ZH_WORDS",
    "Attribute",
    "Brand",
    "Category",
    "Line",
    "alternatives",
    "unit_variants",
]

# Largest number of near-miss variants in one product family (same brand, line and base model).
MAX_FAMILY_SIZE = 4


@dataclass(frozen=True)
class Attribute:
    """One attribute of a category; ``ordered`` values cost more further down the list."""

    name: str
    values: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Line:
    """A product line and the prefix its model numbers start with ("WH-" for "WH-1000XM4")."""

    name: str
    model_prefix: str


@dataclass(frozen=True)
class Brand:
    """A brand and the product lines it sells in one category."""

    name: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Category:
    """A product category: how its titles are built and what can differ between siblings.

    ``varying`` names the attributes (or ``"model"``, meaning a model-number suffix) that may
    distinguish near-miss products of one family; ``shape`` is a hint for modules that draw
    product pictures.
    """

    name: str
    shape: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    attributes: tuple[Attribute, ...]
    varying: tuple[str, ...]
    brands: tuple[Brand, ...]
    model_tails: tuple[str, ...]
    features: tuple[str, ...]
    price_range: tuple[float, float]


def _brand(name: str, *lines: tuple[str, str]) -> Brand:
    """Shorthand so the tables below stay readable: lines as (name, model prefix) pairs."""
    return Brand(name, tuple(Line(line, prefix) for line, prefix in lines))


_COLOURS_TECH = ("Black", "Silver", "White", "Midnight Blue", "Beige", "Rose Gold", "Grey", "Green")

CATEGORIES: tuple[Category, ...] = (
    Category(
        name="headphones",
        shape="headphones",
        nouns=("Headphones", "Over-Ear Headphones", "Earbuds", "In-Ear Headphones"),
        adjectives=("Wireless Noise Cancelling", "Bluetooth", "Wireless", "Wired", "Sports"),
        attributes=(Attribute("colour", _COLOURS_TECH),),
        varying=("colour", "model"),
        brands=(
            _brand("Sony", ("1000X", "WH-"), ("WF Series", "WF-"), ("MDR", "MDR-")),
            _brand("Bose", ("QuietComfort", "QC"), ("SoundSport", "SS-"), ("Ultra", "BU")),
            _brand("Sennheiser", ("Momentum", "M"), ("HD", "HD"), ("CX", "CX-")),
            _brand("JBL", ("Tune", "T"), ("Live", "LIVE"), ("Quantum", "Q")),
            _brand("Audio-Technica", ("ATH-M", "ATH-M"), ("ATH-SR", "ATH-SR")),
            _brand("Beats", ("Studio", "MQ"), ("Solo", "MX"), ("Powerbeats", "PB")),
            _brand("Jabra", ("Elite", "E-"), ("Evolve", "EV")),
        ),
        model_tails=("", "XM4", "XM5", "BT", "NC", "II", "W"),
        features=(
            "Industry-leading noise cancellation blocks out distractions.",
            "Up to 30 hours of battery life on a single charge.",
            "Quick charging gives 5 hours of playback in 10 minutes.",
            "Touch controls let you skip tracks and adjust the volume.",
            "A built-in microphone gives clear hands-free calls.",
            "Soft memory-foam ear cushions stay comfortable all day.",
            "Multipoint pairing connects two devices at once.",
            "Folds flat into the included protective carrying case.",
        ),
        price_range=(29.0, 449.0),
    ),
    Category(
        name="smartphones",
        shape="phone",
        nouns=("Smartphone", "Mobile Phone", "5G Smartphone"),
        adjectives=("Unlocked", "Dual SIM", "Android", "Factory Unlocked"),
        attributes=(
            Attribute("storage", ("64 GB", "128 GB", "256 GB", "512 GB", "1 TB"), ordered=True),
            Attribute("memory", ("4 GB RAM", "6 GB RAM", "8 GB RAM", "12 GB RAM"), ordered=True),
            Attribute(
                "colour",
                (
                    "Phantom Black",
                    "Midnight",
                    "Starlight",
                    "Graphite",
                    "Sierra Blue",
                    "Mint",
                    "Lavender",
                    "Cream",
                    "Black",
                    "White",
                ),
            ),
        ),
        varying=("storage", "colour", "model"),
        brands=(
            _brand(
                "Samsung", ("Galaxy S", "SM-S"), ("Galaxy A", "SM-A"), ("Galaxy Z Flip", "SM-F")
            ),
            _brand("Apple", ("iPhone", "A"), ("iPhone Pro", "MQ")),
            _brand("Google", ("Pixel", "G"), ("Pixel a", "GA")),
            _brand("Xiaomi", ("Redmi Note", "M"), ("Mi", "M2")),
            _brand("OnePlus", ("Nord", "CPH"), ("Ace", "NE")),
            _brand("Motorola", ("Moto G", "XT"), ("Edge", "XT-E")),
            _brand("Huawei", ("P", "ELS-"), ("Mate", "NOH-")),
            _brand("Nokia", ("G", "TA-"), ("X", "TA-X")),
        ),
        model_tails=("", "B", "U", "F", "DS", "N"),
        features=(
            "The triple camera system shoots sharp photos even in low light.",
            "A 120 Hz display keeps scrolling smooth.",
            "All-day battery with fast wired and wireless charging.",
            "IP68 water and dust resistance.",
            "5G connectivity for fast downloads on the go.",
            "Face unlock and an in-display fingerprint sensor keep it secure.",
            "Gorilla Glass protects the front and back.",
            "Receives operating system updates for years.",
        ),
        price_range=(99.0, 1399.0),
    ),
    Category(
        name="laptops",
        shape="laptop",
        nouns=("Laptop", "Notebook", "Ultrabook", "Gaming Laptop"),
        adjectives=("Thin and Light", "Touchscreen", "Business", "2-in-1", "Convertible"),
        attributes=(
            Attribute(
                "size", ("13.3 inch", "14 inch", "15.6 inch", "16 inch", "17.3 inch"), ordered=True
            ),
            Attribute("memory", ("8 GB RAM", "16 GB RAM", "32 GB RAM", "64 GB RAM"), ordered=True),
            Attribute(
                "storage", ("256 GB SSD", "512 GB SSD", "1 TB SSD", "2 TB SSD"), ordered=True
            ),
            Attribute("colour", ("Silver", "Space Grey", "Black", "Platinum", "Blue")),
        ),
        varying=("memory", "storage", "size", "colour"),
        brands=(
            _brand("Dell", ("XPS", "XPS"), ("Inspiron", "I"), ("Latitude", "LAT")),
            _brand("HP", ("Pavilion", "15-"), ("Envy", "X360-"), ("EliteBook", "EB")),
            _brand("Lenovo", ("ThinkPad", "20"), ("IdeaPad", "81"), ("Yoga", "82")),
            _brand("ASUS", ("ZenBook", "UX"), ("VivoBook", "X"), ("ROG Strix", "G")),
            _brand("Acer", ("Aspire", "A5-"), ("Swift", "SF"), ("Predator Helios", "PH")),
            _brand("Apple", ("MacBook Air", "MGN"), ("MacBook Pro", "MK")),
            _brand("Microsoft", ("Surface Laptop", "SL")),
            _brand("MSI", ("Prestige", "P"), ("Katana", "GF")),
        ),
        model_tails=("", "NR", "UA", "AU", "X", "T"),
        features=(
            "The latest processor handles multitasking with ease.",
            "A backlit keyboard lets you work in dim rooms.",
            "Battery life of up to 12 hours for a full working day.",
            "A full HD webcam with privacy shutter.",
            "Thunderbolt and USB-C ports for fast peripherals.",
            "An aluminium chassis that weighs well under two kilograms.",
            "Wi-Fi 6 for fast and stable wireless connections.",
            "A fingerprint reader for quick secure sign-in.",
        ),
        price_range=(349.0, 2999.0),
    ),
    Category(
        name="tvs",
        shape="tv",
        nouns=("Smart TV", "LED TV", "OLED TV", "Television"),
        adjectives=("4K Ultra HD", "HDR", "Dolby Vision", "Ultra Slim"),
        attributes=(
            Attribute(
                "size",
                ("43 inch", "50 inch", "55 inch", "65 inch", "75 inch", "85 inch"),
                ordered=True,
            ),
            Attribute("refresh", ("60 Hz", "120 Hz"), ordered=True),
        ),
        varying=("size", "model"),
        brands=(
            _brand("Samsung", ("Crystal UHD", "UN"), ("QLED", "QN"), ("Neo QLED", "QN9")),
            _brand("LG", ("OLED", "OLED"), ("NanoCell", "NANO"), ("UHD", "UQ")),
            _brand("Sony", ("Bravia", "KD-"), ("Bravia XR", "XR-")),
            _brand("TCL", ("C Series", "C"), ("P Series", "P")),
            _brand("Hisense", ("U8", "U"), ("A6", "A")),
            _brand("Panasonic", ("Viera", "TX-")),
            _brand("Philips", ("Ambilight", "PUS")),
            _brand("Vizio", ("M-Series", "M"), ("V-Series", "V")),
        ),
        model_tails=("", "K", "AU", "FXZA", "LA", "G"),
        features=(
            "Dolby Vision and HDR10 bring out detail in bright and dark scenes.",
            "The built-in smart platform streams all the popular apps.",
            "A game mode with low input lag.",
            "Voice control through the supplied remote.",
            "Four HDMI inputs, one with eARC.",
            "A slim bezel-less design that suits any room.",
            "The picture processor upscales older content to near 4K.",
            "Dolby Atmos sound from the built-in speakers.",
        ),
        price_range=(199.0, 2999.0),
    ),
    Category(
        name="cameras",
        shape="camera",
        nouns=("Digital Camera", "Mirrorless Camera", "DSLR Camera", "Compact Camera"),
        adjectives=("Full-Frame", "APS-C", "4K Video", "24.2MP", "Vlogging"),
        attributes=(
            Attribute(
                "kit",
                (
                    "Body Only",
                    "with 18-55mm Lens",
                    "with 24-105mm Lens",
                    "with 28-70mm Lens",
                    "with 15-45mm Lens",
                ),
            ),
            Attribute("colour", ("Black", "Silver", "Black/Silver", "White")),
        ),
        varying=("kit", "colour", "model"),
        brands=(
            _brand("Canon", ("EOS R", "EOS R"), ("PowerShot", "PS"), ("EOS Rebel", "T")),
            _brand("Nikon", ("Z", "Z"), ("Coolpix", "P"), ("D", "D")),
            _brand("Sony", ("Alpha", "ILCE-"), ("Cyber-shot", "DSC-")),
            _brand("Fujifilm", ("X-T", "X-T"), ("X-S", "X-S"), ("Instax", "INS")),
            _brand("Panasonic", ("Lumix", "DC-")),
            _brand("OM System", ("OM-D", "E-M")),
            _brand("Leica", ("Q", "Q")),
        ),
        model_tails=("", "II", "III", "K", "B", "M"),
        features=(
            "A high-resolution sensor captures fine detail.",
            "Fast hybrid autofocus tracks eyes of people and animals.",
            "Records 4K video without a recording limit.",
            "In-body image stabilisation for sharp handheld shots.",
            "A vari-angle touchscreen for vlogging and high angles.",
            "Weather sealing keeps out dust and moisture.",
            "Dual card slots for instant backup.",
            "Wi-Fi and Bluetooth transfer photos to your phone.",
        ),
        price_range=(249.0, 3999.0),
    ),
    Category(
        name="storage",
        shape="drive",
        nouns=("External Hard Drive", "Portable SSD", "Portable Hard Drive", "Desktop Hard Drive"),
        adjectives=("Slim", "Rugged", "High-Speed", "Compact", "Encrypted"),
        attributes=(
            Attribute("capacity", ("500 GB", "1 TB", "2 TB", "4 TB", "5 TB", "8 TB"), ordered=True),
            Attribute("colour", ("Black", "Blue", "Red", "Silver", "Grey")),
            Attribute("interface", ("USB 3.0", "USB-C", "Thunderbolt 3", "USB 3.2 Gen 2")),
        ),
        varying=("capacity", "colour"),
        brands=(
            _brand(
                "Seagate", ("Expansion", "STKM"), ("One Touch", "STKY"), ("Backup Plus", "STHP")
            ),
            _brand(
                "Western Digital",
                ("My Passport", "WDBYVG"),
                ("Elements", "WDBU"),
                ("My Book", "WDBBGB"),
            ),
            _brand("Samsung", ("T7", "MU-PC"), ("T9", "MU-PG")),
            _brand("SanDisk", ("Extreme", "SDSSDE"), ("Extreme Pro", "SDSSDE8")),
            _brand("LaCie", ("Rugged", "STFR"), ("d2", "STHA")),
            _brand("Toshiba", ("Canvio", "HDTB")),
            _brand("Crucial", ("X9", "CT"), ("X10 Pro", "CTX")),
        ),
        model_tails=("", "0BLK", "WW", "EU", "400", "A"),
        features=(
            "Plug-and-play with no software to install.",
            "Transfer speeds of up to 1050 MB/s.",
            "Password protection with hardware encryption.",
            "Automatic backup software is included.",
            "Drop resistant up to two metres.",
            "Compatible with Windows, macOS and game consoles.",
            "A compact design that fits in a pocket.",
            "Comes with a three-year limited warranty.",
        ),
        price_range=(49.0, 399.0),
    ),
    Category(
        name="memory",
        shape="card",
        nouns=("microSDXC Card", "USB Flash Drive", "SD Card", "Memory Card"),
        adjectives=("High Speed", "UHS-I", "4K", "Durable"),
        attributes=(
            Attribute(
                "capacity", ("32 GB", "64 GB", "128 GB", "256 GB", "512 GB", "1 TB"), ordered=True
            ),
            Attribute("speed", ("Class 10", "U3", "V30", "A2", "UHS-II")),
        ),
        varying=("capacity", "model"),
        brands=(
            _brand("SanDisk", ("Ultra", "SDSQUA"), ("Extreme", "SDSQXA"), ("Cruzer", "SDCZ")),
            _brand("Kingston", ("Canvas Select", "SDCS"), ("DataTraveler", "DT")),
            _brand("Samsung", ("EVO Plus", "MB-MC"), ("PRO Plus", "MB-MD")),
            _brand("Lexar", ("Professional", "LSD"), ("JumpDrive", "LJD")),
            _brand("PNY", ("Elite", "P-SD"), ("Turbo", "P-FD")),
            _brand("Verbatim", ("Store n Go", "SNG")),
        ),
        model_tails=("", "GN6MA", "EU", "GE", "SP", "ABU"),
        features=(
            "Read speeds of up to 160 MB/s.",
            "Rated A2 for fast app loading on phones.",
            "Records full HD and 4K video smoothly.",
            "Waterproof, temperature proof and X-ray proof.",
            "Comes with an SD adapter.",
            "Backed by a limited lifetime warranty.",
            "Ideal for cameras, drones and action cams.",
            "Tested to withstand thousands of insertions.",
        ),
        price_range=(6.0, 149.0),
    ),
    Category(
        name="monitors",
        shape="monitor",
        nouns=("Monitor", "Gaming Monitor", "Computer Monitor", "Display"),
        adjectives=("IPS", "Curved", "Ultrawide", "HDR", "Frameless"),
        attributes=(
            Attribute(
                "size", ("24 inch", "27 inch", "32 inch", "34 inch", "38 inch"), ordered=True
            ),
            Attribute("resolution", ("Full HD", "QHD", "4K UHD", "WQHD"), ordered=True),
            Attribute("refresh", ("60 Hz", "75 Hz", "144 Hz", "165 Hz", "240 Hz"), ordered=True),
        ),
        varying=("size", "resolution", "refresh"),
        brands=(
            _brand("Dell", ("UltraSharp", "U"), ("S Series", "S")),
            _brand("LG", ("UltraGear", "GN"), ("UltraFine", "UN")),
            _brand("Samsung", ("Odyssey", "LS"), ("ViewFinity", "LSV")),
            _brand("ASUS", ("TUF Gaming", "VG"), ("ProArt", "PA")),
            _brand("BenQ", ("Zowie", "XL"), ("PD Series", "PD")),
            _brand("AOC", ("Gaming", "Q"), ("Basic", "E")),
            _brand("Acer", ("Nitro", "XV"), ("Predator", "X")),
        ),
        model_tails=("", "Q", "QE", "B", "U", "F"),
        features=(
            "An IPS panel with wide viewing angles and accurate colour.",
            "AMD FreeSync and G-Sync compatible for tear-free gaming.",
            "A height-adjustable stand that tilts, swivels and pivots.",
            "USB-C with 65 W power delivery charges your laptop.",
            "Flicker-free backlight and a low blue light mode.",
            "A 1 ms response time keeps motion sharp.",
            "Covers 99% of the sRGB colour space.",
            "VESA mount compatible.",
        ),
        price_range=(99.0, 1299.0),
    ),
    Category(
        name="speakers",
        shape="speaker",
        nouns=("Bluetooth Speaker", "Portable Speaker", "Wireless Speaker", "Smart Speaker"),
        adjectives=("Waterproof", "Rugged", "Outdoor", "Party"),
        attributes=(
            Attribute("colour", ("Black", "Blue", "Red", "Teal", "Grey", "Camo", "Squad")),
            Attribute("power", ("10 W", "20 W", "30 W", "40 W", "60 W"), ordered=True),
        ),
        varying=("colour", "power", "model"),
        brands=(
            _brand("JBL", ("Flip", "FLIP"), ("Charge", "CHG"), ("Go", "GO")),
            _brand(
                "Bose",
                ("SoundLink", "SLF"),
            ),
            _brand("Sony", ("SRS-XB", "SRS-XB"), ("SRS-XG", "SRS-XG")),
            _brand("Ultimate Ears", ("Boom", "UE-B"), ("Wonderboom", "UE-W")),
            _brand("Anker", ("Soundcore", "A3")),
            _brand("Marshall", ("Emberton", "EMB"), ("Stanmore", "STN")),
            _brand("Bang & Olufsen", ("Beosound", "BS")),
        ),
        model_tails=("", "BLK", "N", "II", "PRO"),
        features=(
            "IP67 waterproof and dustproof.",
            "Up to 20 hours of playtime.",
            "Connect two speakers for stereo sound.",
            "Deep bass from a dual passive radiator.",
            "A built-in power bank charges your phone.",
            "A speakerphone with echo cancellation.",
            "A durable fabric and rubber housing.",
            "Floats in water, so the pool is no problem.",
        ),
        price_range=(29.0, 399.0),
    ),
    Category(
        name="smartwatches",
        shape="watch",
        nouns=("Smartwatch", "Fitness Watch", "GPS Watch", "Smart Watch"),
        adjectives=("Heart Rate", "Waterproof", "AMOLED", "Sleep Tracking"),
        attributes=(
            Attribute("size", ("40 mm", "41 mm", "42 mm", "44 mm", "45 mm", "47 mm"), ordered=True),
            Attribute(
                "colour", ("Midnight", "Starlight", "Silver", "Graphite", "Black", "Pink", "Blue")
            ),
            Attribute("connectivity", ("GPS", "GPS + Cellular", "Bluetooth", "LTE")),
        ),
        varying=("size", "colour", "connectivity"),
        brands=(
            _brand("Apple", ("Watch Series", "MKN"), ("Watch SE", "MKQ"), ("Watch Ultra", "MQF")),
            _brand("Samsung", ("Galaxy Watch", "SM-R"), ("Galaxy Fit", "SM-R3")),
            _brand("Garmin", ("Forerunner", "010-0"), ("Fenix", "010-2"), ("Venu", "010-3")),
            _brand("Fitbit", ("Versa", "FB5"), ("Sense", "FB51")),
            _brand("Amazfit", ("GTR", "A19"), ("Bip", "A21")),
            _brand("Huawei", ("Watch GT", "GT-")),
            _brand("Google", ("Pixel Watch", "GA0")),
        ),
        model_tails=("", "LL", "ZA", "00", "B"),
        features=(
            "Tracks heart rate, blood oxygen and sleep.",
            "Built-in GPS maps runs and rides without a phone.",
            "An always-on display that is easy to read in sunlight.",
            "Water resistant to 50 metres for swimming.",
            "Up to a week of battery life.",
            "Contactless payments from your wrist.",
            "Notifications for calls, messages and apps.",
            "Over 100 workout modes.",
        ),
        price_range=(49.0, 899.0),
    ),
    Category(
        name="tablets",
        shape="tablet",
        nouns=("Tablet", "Tablet PC"),
        adjectives=("Retina", "Kids", "Lightweight", "Octa-Core"),
        attributes=(
            Attribute(
                "size", ("8.3 inch", "10.2 inch", "10.9 inch", "11 inch", "12.9 inch"), ordered=True
            ),
            Attribute("storage", ("32 GB", "64 GB", "128 GB", "256 GB", "512 GB"), ordered=True),
            Attribute("colour", ("Space Grey", "Silver", "Blue", "Pink", "Starlight", "Graphite")),
            Attribute("connectivity", ("Wi-Fi", "Wi-Fi + Cellular")),
        ),
        varying=("storage", "colour", "size"),
        brands=(
            _brand("Apple", ("iPad", "MK"), ("iPad Air", "MM"), ("iPad Pro", "MN")),
            _brand("Samsung", ("Galaxy Tab S", "SM-X"), ("Galaxy Tab A", "SM-T")),
            _brand("Lenovo", ("Tab P", "ZA"), ("Tab M", "ZAB")),
            _brand("Amazon", ("Fire HD", "B0")),
            _brand("Microsoft", ("Surface Pro", "QEZ"), ("Surface Go", "8V")),
            _brand("Xiaomi", ("Pad", "2")),
        ),
        model_tails=("", "LL", "ZA", "NA", "B"),
        features=(
            "A bright Liquid Retina display.",
            "All-day battery life for work and play.",
            "Works with a stylus and a keyboard cover.",
            "Front and rear cameras for video calls.",
            "Stereo speakers in landscape mode.",
            "A fast chip for games and creative apps.",
            "USB-C charging and accessories.",
            "Parental controls for family use.",
        ),
        price_range=(79.0, 1499.0),
    ),
    Category(
        name="shoes",
        shape="shoe",
        nouns=("Running Shoes", "Sneakers", "Trainers", "Walking Shoes"),
        adjectives=("Lightweight", "Breathable", "Cushioned", "Classic", "Trail"),
        attributes=(
            Attribute("gender", ("Men's", "Women's", "Unisex")),
            Attribute("size", ("US 6", "US 7", "US 8", "US 9", "US 10", "US 11", "US 12")),
            Attribute(
                "colour",
                ("Black/White", "Core Black", "Navy", "Grey", "Triple White", "Red", "Blue/Orange"),
            ),
        ),
        varying=("size", "colour", "model"),
        brands=(
            _brand("Nike", ("Air Zoom Pegasus", "DV"), ("Air Max", "DM"), ("Revolution", "DC")),
            _brand("Adidas", ("Ultraboost", "GX"), ("Samba", "B7"), ("Stan Smith", "FX")),
            _brand("New Balance", ("Fresh Foam", "M"), ("574", "ML")),
            _brand("ASICS", ("Gel-Kayano", "1011B"), ("Gel-Nimbus", "1012B")),
            _brand("Puma", ("Velocity Nitro", "37"), ("Suede", "35")),
            _brand("Brooks", ("Ghost", "110"), ("Adrenaline GTS", "120")),
            _brand("Hoka", ("Clifton", "11"), ("Bondi", "12")),
        ),
        model_tails=("-001", "-100", "-400", "-600", "-010", ""),
        features=(
            "A breathable engineered mesh upper.",
            "Responsive foam cushioning returns energy with every stride.",
            "A durable rubber outsole grips wet and dry roads.",
            "A padded collar and tongue for a secure fit.",
            "Reflective details for visibility at night.",
            "A removable insole that fits orthotics.",
            "Lightweight enough for race day.",
            "A heel counter keeps your foot stable.",
        ),
        price_range=(39.0, 249.0),
    ),
    Category(
        name="kitchen",
        shape="appliance",
        nouns=("Electric Kettle", "Blender", "Coffee Maker", "Stand Mixer", "Toaster", "Air Fryer"),
        adjectives=("Cordless", "Digital", "Compact", "Programmable", "Quiet"),
        attributes=(
            Attribute(
                "capacity", ("1.0 L", "1.5 L", "1.7 L", "2.0 L", "4.5 L", "5.5 L"), ordered=True
            ),
            Attribute("power", ("800 W", "1000 W", "1200 W", "1500 W", "2200 W"), ordered=True),
            Attribute(
                "colour",
                (
                    "Stainless Steel",
                    "Black",
                    "White",
                    "Empire Red",
                    "Cream",
                    "Onyx Black",
                    "Almond Cream",
                ),
            ),
        ),
        varying=("capacity", "colour", "power"),
        brands=(
            _brand("KitchenAid", ("Artisan", "5KSM"), ("Classic", "5K")),
            _brand("Breville", ("Barista", "BES"), ("Bambino", "BES4")),
            _brand("Philips", ("Viva", "HD"), ("Avance", "HR")),
            _brand("Ninja", ("Professional", "BL"), ("Foodi", "AF")),
            _brand("Cuisinart", ("Classic", "CPT"), ("Grind and Brew", "DGB")),
            _brand("Russell Hobbs", ("Inspire", "2"), ("Luna", "24")),
            _brand("De'Longhi", ("Dedica", "EC"), ("Magnifica", "ECAM")),
            _brand("Smeg", ("50s Style", "KLF")),
        ),
        model_tails=("", "EER", "BXL", "UK", "C", "S"),
        features=(
            "Brushed stainless steel body that is easy to wipe clean.",
            "Automatic shut-off and boil-dry protection.",
            "A removable limescale filter.",
            "Dishwasher-safe removable parts.",
            "Several speed settings and a pulse function.",
            "A 360-degree swivel base for easy handling.",
            "A keep-warm function holds the temperature for 30 minutes.",
            "Quiet operation with a powerful motor.",
        ),
        price_range=(19.0, 699.0),
    ),
    Category(
        name="cookware",
        shape="pan",
        nouns=("Frying Pan", "Saucepan", "Dutch Oven", "Skillet", "Wok"),
        adjectives=("Non-Stick", "Induction", "Cast Iron", "Oven Safe", "Hard Anodised"),
        attributes=(
            Attribute("size", ("20 cm", "24 cm", "26 cm", "28 cm", "30 cm", "32 cm"), ordered=True),
            Attribute(
                "colour",
                ("Black", "Volcanic", "Cerise", "Marseille Blue", "Graphite", "Stainless Steel"),
            ),
        ),
        varying=("size", "colour"),
        brands=(
            _brand("Tefal", ("Ingenio", "L"), ("Unlimited", "G")),
            _brand("Le Creuset", ("Signature", "21"), ("Toughened Non-Stick", "96")),
            _brand("Lodge", ("Classic", "L"), ("Blacklock", "BL")),
            _brand("Calphalon", ("Classic", "18"), ("Premier", "20")),
            _brand("All-Clad", ("D3", "E"), ("HA1", "EH")),
            _brand("Zwilling", ("Spirit", "6"), ("Madura", "66")),
            _brand("Scanpan", ("Classic", "2"), ("CTX", "65")),
        ),
        model_tails=("", "SK", "02", "BK", "00"),
        features=(
            "A non-stick coating releases food easily.",
            "Suitable for all hobs including induction.",
            "Oven safe up to 260 degrees.",
            "Riveted stay-cool handles.",
            "An encapsulated base heats evenly.",
            "Dishwasher safe for easy cleaning.",
            "PFOA-free coating.",
            "Pre-seasoned and ready to use.",
        ),
        price_range=(19.0, 399.0),
    ),
    Category(
        name="toys",
        shape="box",
        nouns=("Building Set", "Building Kit", "Puzzle", "Board Game", "Construction Toy"),
        adjectives=("Collectible", "Educational", "Creative", "Family"),
        attributes=(
            Attribute(
                "pieces",
                (
                    "100 Pieces",
                    "250 Pieces",
                    "500 Pieces",
                    "1000 Pieces",
                    "1500 Pieces",
                    "2000 Pieces",
                ),
                ordered=True,
            ),
            Attribute("age", ("Ages 4+", "Ages 6+", "Ages 8+", "Ages 12+", "Ages 18+")),
        ),
        varying=("pieces", "model"),
        brands=(
            _brand("LEGO", ("Technic", "4"), ("City", "6"), ("Star Wars", "75"), ("Creator", "31")),
            _brand("Hasbro", ("Monopoly", "C"), ("Nerf", "F"), ("Transformers", "E")),
            _brand("Mattel", ("Hot Wheels", "GJ"), ("UNO", "W"), ("Barbie", "HB")),
            _brand("Playmobil", ("City Life", "70"), ("Knights", "71")),
            _brand("Ravensburger", ("Jigsaw", "1"), ("Disney Collection", "17")),
            _brand("Melissa & Doug", ("Wooden", "30")),
            _brand("Mega", ("Construx", "GV")),
        ),
        model_tails=("", "", "A", "V"),
        features=(
            "Contains detailed building instructions.",
            "Develops fine motor skills and creativity.",
            "Compatible with other sets in the range.",
            "Makes a great gift for birthdays and holidays.",
            "Includes collectible minifigures.",
            "Made from durable, high-quality materials.",
            "Hours of fun for the whole family.",
            "The finished model measures over 30 cm long.",
        ),
        price_range=(9.0, 499.0),
    ),
    Category(
        name="software",
        shape="box",
        nouns=("Software", "Software Suite", "Software Licence", "Download"),
        adjectives=("Retail", "Key Card", "Subscription", "Lifetime", "Multilingual"),
        attributes=(
            Attribute(
                "edition",
                ("Home", "Professional", "Standard", "Ultimate", "Student", "Business", "Premium"),
            ),
            Attribute("version", ("2019", "2021", "2023", "2024", "365")),
            Attribute("platform", ("Windows", "Mac", "Windows/Mac", "Windows 11")),
            Attribute(
                "licence", ("1 User", "3 Users", "5 Devices", "10 Devices", "1 PC"), ordered=True
            ),
        ),
        varying=("edition", "version", "platform", "licence"),
        brands=(
            _brand("Microsoft", ("Office", "79G-"), ("Windows", "KW9-"), ("Visio", "D87-")),
            _brand(
                "Adobe",
                ("Photoshop Elements", "65"),
                ("Premiere Elements", "66"),
                ("Acrobat", "65A"),
            ),
            _brand("Norton", ("360", "21"), ("AntiVirus Plus", "21A")),
            _brand("McAfee", ("Total Protection", "MTP"), ("LiveSafe", "MLS")),
            _brand("Corel", ("CorelDRAW", "CDGS"), ("PaintShop Pro", "PSP")),
            _brand("Kaspersky", ("Internet Security", "KL19"), ("Total Security", "KL18")),
            _brand("Intuit", ("TurboTax", "TT"), ("QuickBooks", "QB")),
        ),
        model_tails=("", "", "ML", "EN"),
        features=(
            "Includes the full desktop applications.",
            "Installs on the number of devices stated on the licence.",
            "Free technical support by phone and chat.",
            "Cloud storage is included for the licence term.",
            "Delivered as a product key card.",
            "Protects against viruses, ransomware and phishing.",
            "Easy-to-use tools for beginners and professionals.",
            "Regular updates keep features current.",
        ),
        price_range=(19.0, 499.0),
    ),
)

# Suffixes that make a different product of the same family ("SM-G991B" vs "SM-G991U").
MODEL_SUFFIXES: tuple[str, ...] = ("A", "B", "E", "F", "N", "U", "W", "X")

# Suffixes platform B appends to a model number for the *same* product (a regional SKU).
REGIONAL_SUFFIXES: tuple[str, ...] = ("/B", "-EU", "/EU", "-US", "/UK", "(EU)")

# Words platform B adds around a title; none of them change which product is meant.
MARKETING: tuple[str, ...] = (
    "Genuine",
    "Free Shipping",
    "Latest Model",
    "New",
    "Authentic",
    "Fast Delivery",
    "Official",
    "In Stock",
    "Best Seller",
)

# Sentences platform A ends its long descriptions with.
CLOSINGS: tuple[str, ...] = (
    "Backed by the manufacturer's warranty.",
    "Ships in recyclable packaging.",
    "Sold and shipped by an authorised dealer.",
    "Order today for delivery within two working days.",
    "Register your product online for extended support.",
)

# Abbreviations and synonyms platform B uses; keys are matched as whole words.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "Black": ("Blk", "BLK"),
    "White": ("Wht", "WHT"),
    "Silver": ("Slv", "SLV"),
    "Grey": ("Gray", "Gry"),
    "Space Grey": ("Space Gray", "Sp Gray"),
    "Blue": ("Blu",),
    "Green": ("Grn",),
    "Rose Gold": ("Rose Gld", "Pink Gold"),
    "Stainless Steel": ("SS", "Stainless", "S/Steel"),
    "Terabyte": ("TB",),
    "Wireless": ("WL", "Cordless"),
    "Bluetooth": ("BT",),
    "Noise Cancelling": ("NC", "Noise-Canceling", "Noise Canceling"),
    "Headphones": ("Headset", "Headphone", "Earphones"),
    "Earbuds": ("Ear Buds", "Earphones"),
    "Smartphone": ("Phone", "Cell Phone", "Mobile"),
    "Mobile Phone": ("Cell Phone", "Cellphone"),
    "Laptop": ("Notebook", "Laptop PC"),
    "Notebook": ("Laptop", "NB"),
    "Television": ("TV",),
    "Smart TV": ("Smart Television", "TV"),
    "Digital Camera": ("Camera", "Digicam"),
    "Mirrorless Camera": ("Mirrorless", "MILC"),
    "External Hard Drive": ("Ext HDD", "External HDD", "Ext. Hard Disk"),
    "Portable SSD": ("Ext SSD", "External SSD"),
    "Portable Hard Drive": ("Portable HDD",),
    "Memory Card": ("Mem Card",),
    "USB Flash Drive": ("USB Stick", "Pen Drive", "Thumb Drive"),
    "Monitor": ("Display", "Screen"),
    "Bluetooth Speaker": ("BT Speaker", "Wireless Speaker"),
    "Smartwatch": ("Smart Watch", "Watch"),
    "Tablet": ("Tab",),
    "Running Shoes": ("Running Shoe", "Runners"),
    "Sneakers": ("Trainers", "Sneaker"),
    "Trainers": ("Sneakers",),
    "Electric Kettle": ("Kettle", "Cordless Kettle"),
    "Coffee Maker": ("Coffee Machine", "Coffeemaker"),
    "Frying Pan": ("Fry Pan", "Skillet"),
    "Building Set": ("Building Kit", "Set"),
    "Pieces": ("pcs", "Pcs", "Piece"),
    "Professional": ("Pro",),
    "Windows": ("Win", "PC"),
    "Mac": ("macOS",),
    "Standard": ("Std",),
    "Ultimate": ("Ult.",),
    "Business": ("Biz",),
    "Users": ("User", "Usr"),
    "Devices": ("Device", "Dev."),
    "Unlocked": ("SIM-Free", "Factory Unlocked"),
    "Dual SIM": ("DS", "Dual-SIM"),
    "4K Ultra HD": ("4K UHD", "UHD 4K"),
    "Full HD": ("FHD", "1080p"),
    "QHD": ("1440p", "2K"),
    "4K UHD": ("2160p", "UHD"),
    "WQHD": ("3440x1440",),
    "with": ("w/", "+"),
    "Body Only": ("Body", "Body-Only"),
    "Men's": ("Mens", "Men"),
    "Women's": ("Womens", "Ladies"),
    "Non-Stick": ("Nonstick", "Non Stick"),
    "Waterproof": ("Water-Resistant", "IPX7"),
    "Cellular": ("Cell", "LTE"),
    "Wi-Fi": ("WiFi", "WLAN"),
    "Gaming": ("Gamer",),
    "Portable": ("Port.",),
    "Ages": ("Age",),
}

# ---------------------------------------------------------------------------------------------
# Chinese vocabulary, used for platform B when ``language="zh"``.

ZH_CATEGORY_NAMES: dict[str, str] = {
    "headphones": "耳机",
    "smartphones": "手机",
    "laptops": "笔记本电脑",
    "tvs": "电视",
    "cameras": "相机",
    "storage": "移动硬盘",
    "memory": "存储卡",
    "monitors": "显示器",
    "speakers": "音箱",
    "smartwatches": "智能手表",
    "tablets": "平板电脑",
    "shoes": "运动鞋",
    "kitchen": "厨房电器",
    "cookware": "锅具",
    "toys": "玩具",
    "software": "软件",
}

ZH_WORDS: dict[str, str] = {
    # colours
    "Black": "黑色",
    "White": "白色",
    "Silver": "银色",
    "Grey": "灰色",
    "Space Grey": "深空灰色",
    "Blue": "蓝色",
    "Midnight Blue": "午夜蓝",
    "Red": "红色",
    "Green": "绿色",
    "Pink": "粉色",
    "Rose Gold": "玫瑰金",
    "Beige": "米色",
    "Midnight": "午夜色",
    "Starlight": "星光色",
    "Graphite": "石墨色",
    "Stainless Steel": "不锈钢",
    "Cream": "奶油色",
    "Navy": "藏青色",
    "Teal": "青色",
    "Platinum": "铂金色",
    "Black/White": "黑白",
    "Triple White": "全白",
    "Core Black": "黑色",
    "Phantom Black": "幻影黑",
    "Sierra Blue": "远峰蓝",
    "Mint": "薄荷绿",
    "Lavender": "薰衣草紫",
    "Black/Silver": "黑银色",
    "Camo": "迷彩",
    "Empire Red": "帝国红",
    "Onyx Black": "玛瑙黑",
    "Almond Cream": "杏仁奶油色",
    "Volcanic": "火山橙",
    "Cerise": "樱桃红",
    "Marseille Blue": "马赛蓝",
    "Blue/Orange": "蓝橙",
    # nouns
    "Headphones": "耳机",
    "Over-Ear Headphones": "头戴式耳机",
    "Earbuds": "真无线耳机",
    "In-Ear Headphones": "入耳式耳机",
    "Smartphone": "智能手机",
    "Mobile Phone": "手机",
    "5G Smartphone": "5G手机",
    "Laptop": "笔记本电脑",
    "Notebook": "笔记本",
    "Ultrabook": "超极本",
    "Gaming Laptop": "游戏本",
    "Smart TV": "智能电视",
    "LED TV": "液晶电视",
    "OLED TV": "OLED电视",
    "Television": "电视机",
    "Digital Camera": "数码相机",
    "Mirrorless Camera": "微单相机",
    "DSLR Camera": "单反相机",
    "Compact Camera": "卡片相机",
    "External Hard Drive": "移动硬盘",
    "Portable SSD": "移动固态硬盘",
    "Portable Hard Drive": "便携硬盘",
    "Desktop Hard Drive": "桌面硬盘",
    "microSDXC Card": "TF存储卡",
    "USB Flash Drive": "U盘",
    "SD Card": "SD卡",
    "Memory Card": "内存卡",
    "Monitor": "显示器",
    "Gaming Monitor": "电竞显示器",
    "Computer Monitor": "电脑显示器",
    "Display": "显示屏",
    "Bluetooth Speaker": "蓝牙音箱",
    "Portable Speaker": "便携音箱",
    "Wireless Speaker": "无线音箱",
    "Smart Speaker": "智能音箱",
    "Smartwatch": "智能手表",
    "Fitness Watch": "运动手表",
    "GPS Watch": "GPS手表",
    "Smart Watch": "智能手表",
    "Tablet": "平板电脑",
    "Tablet PC": "平板",
    "Running Shoes": "跑步鞋",
    "Sneakers": "运动鞋",
    "Trainers": "训练鞋",
    "Walking Shoes": "休闲鞋",
    "Electric Kettle": "电热水壶",
    "Blender": "搅拌机",
    "Coffee Maker": "咖啡机",
    "Stand Mixer": "厨师机",
    "Toaster": "烤面包机",
    "Air Fryer": "空气炸锅",
    "Frying Pan": "煎锅",
    "Saucepan": "奶锅",
    "Dutch Oven": "铸铁锅",
    "Skillet": "平底锅",
    "Wok": "炒锅",
    "Building Set": "积木",
    "Building Kit": "拼装积木",
    "Puzzle": "拼图",
    "Board Game": "桌游",
    "Construction Toy": "拼插玩具",
    "Software": "软件",
    "Software Suite": "软件套装",
    "Download": "下载版",
    "Software Licence": "软件授权",
    # adjectives and attribute words
    "Wireless Noise Cancelling": "无线降噪",
    "Bluetooth": "蓝牙",
    "Wireless": "无线",
    "Wired": "有线",
    "Sports": "运动",
    "Unlocked": "全网通",
    "Dual SIM": "双卡双待",
    "Factory Unlocked": "全网通",
    "Thin and Light": "轻薄",
    "Touchscreen": "触屏",
    "Business": "商务",
    "Gaming": "游戏",
    "Portable": "便携式",
    "Waterproof": "防水",
    "Rugged": "三防",
    "Lightweight": "轻量",
    "Breathable": "透气",
    "Cushioned": "缓震",
    "Classic": "经典",
    "Cordless": "无线",
    "Digital": "数显",
    "Compact": "小型",
    "Non-Stick": "不粘",
    "Cast Iron": "铸铁",
    "Induction": "电磁炉适用",
    "Educational": "益智",
    "Collectible": "收藏版",
    "Family": "家庭",
    "Retail": "零售版",
    "Boxed": "盒装",
    "Men's": "男款",
    "Women's": "女款",
    "Unisex": "男女同款",
    "Professional": "专业版",
    "Home": "家庭版",
    "Student": "学生版",
    "Standard": "标准版",
    "Ultimate": "旗舰版",
    "Premium": "高级版",
    "Body Only": "单机身",
    "GPS + Cellular": "GPS+蜂窝网络",
    "Wi-Fi": "WLAN版",
    "Wi-Fi + Cellular": "WLAN+蜂窝网络",
    "Windows/Mac": "Win/Mac",
}

ZH_BRANDS: dict[str, str] = {
    "Sony": "索尼",
    "Samsung": "三星",
    "Apple": "苹果",
    "Huawei": "华为",
    "Xiaomi": "小米",
    "Lenovo": "联想",
    "Dell": "戴尔",
    "HP": "惠普",
    "ASUS": "华硕",
    "Acer": "宏碁",
    "Canon": "佳能",
    "Nikon": "尼康",
    "Fujifilm": "富士",
    "Panasonic": "松下",
    "Philips": "飞利浦",
    "Microsoft": "微软",
    "Nike": "耐克",
    "Adidas": "阿迪达斯",
    "New Balance": "新百伦",
    "Puma": "彪马",
    "LEGO": "乐高",
    "Bose": "博士",
    "Sennheiser": "森海塞尔",
    "Seagate": "希捷",
    "Western Digital": "西部数据",
    "SanDisk": "闪迪",
    "Kingston": "金士顿",
    "Hisense": "海信",
    "Garmin": "佳明",
    "Google": "谷歌",
    "Motorola": "摩托罗拉",
    "Nokia": "诺基亚",
    "KitchenAid": "凯膳怡",
    "Breville": "铂富",
    "De'Longhi": "德龙",
    "Tefal": "特福",
    "Zwilling": "双立人",
    "Le Creuset": "酷彩",
    "Hasbro": "孩之宝",
    "Mattel": "美泰",
    "Toshiba": "东芝",
    "Amazon": "亚马逊",
    "Marshall": "马歇尔",
    "Beats": "魔声",
    "Jabra": "捷波朗",
}

ZH_MARKETING: tuple[str, ...] = ("正品", "包邮", "新款", "官方旗舰", "现货速发", "国行")

ZH_SENTENCES: tuple[str, ...] = (
    "全新正品，支持官方保修。",  # noqa: RUF001
    "顺丰包邮，七天无理由退换。",  # noqa: RUF001
    "品质保证，假一赔十。",  # noqa: RUF001
    "官方授权，正规发票。",  # noqa: RUF001
    "现货当天发出。",
)

_ZH_UNITS = {"inch": "英寸", "L": "升", "W": "瓦", "Pieces": "片", "Users": "用户", "User": "用户"}

_UNIT_RE = re.compile(r"^(\d+(?:\.\d+)?) (GB|TB|inch|mm|cm|L|W|Hz)(.*)$")


def _num(x: float) -> str:
    """Print a number without a trailing ".0" ("1000", "0.5", "39.6")."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _measure_variants(num: str, unit: str) -> list[str]:
    """The ways a shop writes one measurement: spacing, unit words and conversions."""
    x = float(num)
    joined = f"{num}{unit}"
    if unit == "GB":
        out = [joined, f"{num} Gb"]
        if x >= 500 and x % 250 == 0:
            out.append(f"{_num(x / 1000)} TB")
        return out
    if unit == "TB":
        return [joined, f"{num} Terabyte", f"{_num(x * 1000)} GB", f"{_num(x * 1000)}GB"]
    if unit == "inch":
        return [f'{num}"', f"{num} in", f"{num}in", f"{num}-Inch", f"{_num(x * 2.54)} cm"]
    if unit == "cm":
        return [joined, f"{num} CM", f'{_num(x / 2.54)}"']
    if unit == "L":
        return [joined, f"{num} Litre", f"{num} Liter", f"{_num(x * 1000)} ml"]
    if unit == "W":
        out = [joined, f"{num} Watt"]
        if x >= 1000:
            out.append(f"{_num(x / 1000)} kW")
        return out
    return [joined, f"{num} {unit.upper()}"]


@cache
def unit_variants(value: str) -> tuple[str, ...]:
    """Other spellings of a value with a unit: "500 GB" -> "500GB", "0.5 TB"; '15.6 inch' ->
    '15.6"', "15.6in". Values without a known unit get an empty tuple."""
    m = _UNIT_RE.match(value)
    if m is not None:
        num, unit, rest = m.groups()
        return tuple(v + rest for v in _measure_variants(num, unit))
    shoe = re.match(r"^US (\d+)$", value)
    if shoe is not None:
        n = shoe.group(1)
        return (f"US{n}", f"Size {n}", f"US Size {n}", f"{n} US")
    age = re.match(r"^Ages (\d+)\+$", value)
    if age is not None:
        n = age.group(1)
        return (f"{n}+", f"Age {n}+", f"{n} Years+")
    pieces = re.match(r"^(\d+) Pieces$", value)
    if pieces is not None:
        n = pieces.group(1)
        return (f"{n} pcs", f"{n}-Piece", f"{n}pc")
    return ()


def _synonym_variants(text: str) -> list[str]:
    """Variants of ``text`` with one known word or phrase swapped for a synonym."""
    out: list[str] = []
    if text in SYNONYMS:
        out.extend(SYNONYMS[text])
    for key, alts in SYNONYMS.items():
        if key == text:
            continue
        pattern = re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])")
        if pattern.search(text):
            out.extend(pattern.sub(alt, text, count=1) for alt in alts)
    return out


def _zh_variants(text: str) -> list[str]:
    """Chinese renderings of ``text``: a whole-phrase translation or translated units."""
    if text in ZH_WORDS:
        return [ZH_WORDS[text]]
    m = _UNIT_RE.match(text)
    if m is not None and m.group(2) in _ZH_UNITS:
        return [f"{m.group(1)}{_ZH_UNITS[m.group(2)]}{m.group(3)}"]
    for pattern, fmt in (
        (r"^US (\d+)$", "美码{}"),
        (r"^Ages (\d+)\+$", "{}岁以上"),
        (r"^(\d+) Pieces$", "{}片"),
        (r"^(\d+) Users?$", "{}用户"),
    ):
        hit = re.match(pattern, text)
        if hit is not None:
            return [fmt.format(hit.group(1))]
    return []


@cache
def alternatives(text: str, language: str = "en") -> tuple[str, ...]:
    """How platform B may write ``text`` (a noun, adjective, line or attribute value).

    The first entry is ``text`` itself for English, so a uniform pick keeps it sometimes;
    for ``language="zh"`` only Chinese renderings are returned when there are any (a
    Chinese shop writes 黑色, never "Black"), else the English ones (model-like words and
    "512 GB" stay Latin on Chinese sites too).
    """
    if language == "zh":
        zh = _zh_variants(text)
        return tuple(zh) if zh else alternatives(text, "en")
    seen = dict.fromkeys([text, *unit_variants(text), *_synonym_variants(text)])
    return tuple(seen)[:8]
