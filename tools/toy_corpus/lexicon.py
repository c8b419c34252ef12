"""The lexicon of the bundled English→German corpus ``toy-en-de``.

Every English lemma maps to exactly one German lemma in a given frame, with the morphology the
grammar needs: nouns carry gender, plural and (for the weak masculines such as *Junge*) the
oblique singular; verbs carry their present-tense forms with stem changes (*sieht*, *isst*,
*fährt*), the participle and the auxiliary of the perfect (*hat gesehen*, *ist gegangen*).

Tags keep the generated sentences sensible: a verb names the tag its subject and object must
carry (``read`` wants a ``person`` and something ``readable``), and a noun lists the English
prepositions that make sense with it (*in the park*, *on the table*, not *on the park*).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADJECTIVES",
    "DETERMINERS",
    "NOUNS",
    "NUMERALS",
    "POSSESSIVES",
    "PREPOSITIONS",
    "PRONOUNS",
    "SUBORDINATORS",
    "VERBS",
    "Adjective",
    "Noun",
    "Preposition",
    "Pronoun",
    "Verb",
    "lexicon_size",
]


@dataclass(frozen=True)
class Noun:
    """A countable noun: English singular/plural, German gender, plural and oblique singular."""

    english: str
    english_plural: str
    german: str
    gender: str  # "m", "f" or "n"
    german_plural: str
    tags: frozenset[str]
    prepositions: frozenset[str]  # English prepositions whose object this noun can be
    german_oblique: str  # accusative/dative singular; differs only for weak masculines

    @property
    def german_dative_plural(self) -> str:
        """Dative plural adds -n unless the plural already ends in -n or -s (Kindern, Autos)."""
        plural = self.german_plural
        return plural if plural.endswith(("n", "s")) else plural + "n"


@dataclass(frozen=True)
class Adjective:
    """An attributive adjective; ``tags`` are the noun tags it can describe."""

    english: str
    german: str  # the stem that takes the endings: groß -> großen
    tags: frozenset[str]


@dataclass(frozen=True)
class Verb:
    """A verb in one frame, with the forms both languages need.

    ``frame`` is "intransitive", "transitive" (object in ``object_case``), "ditransitive"
    (dative recipient + accusative theme) or "that" (a *that*-clause complement).
    """

    english: str
    english_3sg: str
    english_participle: str
    german: str  # infinitive, also the plural present form
    german_1sg: str
    german_3sg: str
    german_participle: str
    auxiliary: str  # "haben" or "sein"
    frame: str
    subject: str  # tag the subject noun must carry
    object: str = ""  # tag the (direct) object must carry
    object_case: str = "acc"
    prepositions: tuple[str, ...] = ()  # English prepositions of PPs this verb takes
    pp_tag: str = ""  # tag every non-company PP noun must carry (swim -> "water")
    needs_pp: bool = False  # live/stay: always with a prepositional phrase
    with_german: str = "mit"  # "with" is "bei" for live/stay (wohnt bei der Großmutter)


@dataclass(frozen=True)
class Preposition:
    """An English preposition and the German one with its case; ``kind`` orders the German PPs."""

    english: str
    german: str
    case: str  # "acc" or "dat"
    kind: str  # "company", "location" or "direction"


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun in both languages; ``person`` is "1sg", "3sg" or "pl"."""

    english: str
    english_object: str
    nominative: str
    accusative: str
    dative: str
    person: str


ANIMATE_PREPOSITIONS = "behind|next to|in front of|to|from|with|without|for"


def _noun(
    english: str,
    english_plural: str,
    german: str,
    gender: str,
    german_plural: str,
    tags: str,
    prepositions: str = "",
    oblique: str = "",
) -> Noun:
    tag_set = set(tags.split())
    if tag_set & {"person", "animal"}:
        tag_set.add("animate")
        prepositions = "|".join(p for p in (prepositions, ANIMATE_PREPOSITIONS) if p)
    if {"thing", "small"} <= tag_set:
        tag_set.add("portable")
    return Noun(
        english,
        english_plural,
        german,
        gender,
        german_plural,
        frozenset(tag_set),
        frozenset(p for p in prepositions.split("|") if p),
        oblique or german,
    )


IN = "in|into|out of"
ON = "on|onto"
NEAR = "behind|next to|in front of"

_NOUN_LIST = [
    # people
    _noun("man", "men", "Mann", "m", "Männer", "person"),
    _noun("woman", "women", "Frau", "f", "Frauen", "person"),
    _noun("child", "children", "Kind", "n", "Kinder", "person small"),
    _noun("boy", "boys", "Junge", "m", "Jungen", "person", oblique="Jungen"),
    _noun("girl", "girls", "Mädchen", "n", "Mädchen", "person"),
    _noun("teacher", "teachers", "Lehrer", "m", "Lehrer", "person"),
    _noun("doctor", "doctors", "Arzt", "m", "Ärzte", "person"),
    _noun("friend", "friends", "Freund", "m", "Freunde", "person"),
    _noun("mother", "mothers", "Mutter", "f", "Mütter", "person"),
    _noun("father", "fathers", "Vater", "m", "Väter", "person"),
    _noun("brother", "brothers", "Bruder", "m", "Brüder", "person"),
    _noun("sister", "sisters", "Schwester", "f", "Schwestern", "person"),
    _noun("grandmother", "grandmothers", "Großmutter", "f", "Großmütter", "person"),
    _noun("grandfather", "grandfathers", "Großvater", "m", "Großväter", "person"),
    _noun("neighbour", "neighbours", "Nachbar", "m", "Nachbarn", "person", oblique="Nachbarn"),
    _noun("student", "students", "Student", "m", "Studenten", "person", oblique="Studenten"),
    _noun("farmer", "farmers", "Bauer", "m", "Bauern", "person", oblique="Bauern"),
    _noun("baker", "bakers", "Bäcker", "m", "Bäcker", "person"),
    _noun("cook", "cooks", "Koch", "m", "Köche", "person"),
    _noun("king", "kings", "König", "m", "Könige", "person"),
    _noun("queen", "queens", "Königin", "f", "Königinnen", "person"),
    _noun("singer", "singers", "Sänger", "m", "Sänger", "person"),
    _noun("painter", "painters", "Maler", "m", "Maler", "person"),
    _noun("pupil", "pupils", "Schüler", "m", "Schüler", "person"),
    _noun("uncle", "uncles", "Onkel", "m", "Onkel", "person"),
    _noun("aunt", "aunts", "Tante", "f", "Tanten", "person"),
    _noun("son", "sons", "Sohn", "m", "Söhne", "person"),
    _noun("daughter", "daughters", "Tochter", "f", "Töchter", "person"),
    _noun("baby", "babies", "Baby", "n", "Babys", "person small"),
    _noun("driver", "drivers", "Fahrer", "m", "Fahrer", "person"),
    _noun("guest", "guests", "Gast", "m", "Gäste", "person"),
    # animals
    _noun("dog", "dogs", "Hund", "m", "Hunde", "animal dog small"),
    _noun("cat", "cats", "Katze", "f", "Katzen", "animal small"),
    _noun("horse", "horses", "Pferd", "n", "Pferde", "animal"),
    _noun("cow", "cows", "Kuh", "f", "Kühe", "animal"),
    _noun("bird", "birds", "Vogel", "m", "Vögel", "animal bird small"),
    _noun("mouse", "mice", "Maus", "f", "Mäuse", "animal small"),
    _noun("bear", "bears", "Bär", "m", "Bären", "animal", oblique="Bären"),
    _noun("lion", "lions", "Löwe", "m", "Löwen", "animal", oblique="Löwen"),
    _noun("monkey", "monkeys", "Affe", "m", "Affen", "animal", oblique="Affen"),
    _noun("elephant", "elephants", "Elefant", "m", "Elefanten", "animal", oblique="Elefanten"),
    _noun("rabbit", "rabbits", "Kaninchen", "n", "Kaninchen", "animal small"),
    _noun("pig", "pigs", "Schwein", "n", "Schweine", "animal"),
    _noun("lamb", "lambs", "Lamm", "n", "Lämmer", "animal small"),
    _noun("duck", "ducks", "Ente", "f", "Enten", "animal bird small"),
    _noun("fox", "foxes", "Fuchs", "m", "Füchse", "animal"),
    _noun("wolf", "wolves", "Wolf", "m", "Wölfe", "animal"),
    _noun("goat", "goats", "Ziege", "f", "Ziegen", "animal"),
    _noun("chicken", "chickens", "Huhn", "n", "Hühner", "animal small"),
    _noun("frog", "frogs", "Frosch", "m", "Frösche", "animal small"),
    _noun("snake", "snakes", "Schlange", "f", "Schlangen", "animal"),
    # things
    _noun("ball", "balls", "Ball", "m", "Bälle", "thing small"),
    _noun("book", "books", "Buch", "n", "Bücher", "thing small readable writable mail openable"),
    _noun("apple", "apples", "Apfel", "m", "Äpfel", "thing small food"),
    _noun("letter", "letters", "Brief", "m", "Briefe", "thing small readable writable mail openable"),
    _noun("cup", "cups", "Tasse", "f", "Tassen", "thing small cleanable"),
    _noun("glass", "glasses", "Glas", "n", "Gläser", "thing small cleanable"),
    _noun("key", "keys", "Schlüssel", "m", "Schlüssel", "thing small"),
    _noun("box", "boxes", "Kiste", "f", "Kisten", "thing holder small openable pushable buildable", f"{IN}|on|next to"),
    _noun("bag", "bags", "Tasche", "f", "Taschen", "thing holder small openable", IN),
    _noun("hat", "hats", "Hut", "m", "Hüte", "thing small cleanable"),
    _noun("shoe", "shoes", "Schuh", "m", "Schuhe", "thing small cleanable repairable"),
    _noun("pen", "pens", "Stift", "m", "Stifte", "thing small"),
    _noun("picture", "pictures", "Bild", "n", "Bilder", "thing small paintable mail"),
    _noun("flower", "flowers", "Blume", "f", "Blumen", "thing small paintable"),
    _noun("bottle", "bottles", "Flasche", "f", "Flaschen", "thing small openable cleanable"),
    _noun("newspaper", "newspapers", "Zeitung", "f", "Zeitungen", "thing small readable"),
    _noun("cake", "cakes", "Kuchen", "m", "Kuchen", "thing small food"),
    _noun("egg", "eggs", "Ei", "n", "Eier", "thing small food cookable"),
    _noun("banana", "bananas", "Banane", "f", "Bananen", "thing small food"),
    _noun("carrot", "carrots", "Karotte", "f", "Karotten", "thing small food cookable"),
    _noun("potato", "potatoes", "Kartoffel", "f", "Kartoffeln", "thing small food cookable"),
    _noun("pear", "pears", "Birne", "f", "Birnen", "thing small food"),
    _noun("sausage", "sausages", "Wurst", "f", "Würste", "thing small food cookable"),
    _noun("tomato", "tomatoes", "Tomate", "f", "Tomaten", "thing small food"),
    _noun("soup", "soups", "Suppe", "f", "Suppen", "thing food cookable"),
    _noun("phone", "phones", "Telefon", "n", "Telefone", "thing small repairable"),
    _noun("clock", "clocks", "Uhr", "f", "Uhren", "thing small repairable"),
    _noun("lamp", "lamps", "Lampe", "f", "Lampen", "thing small repairable"),
    _noun("coat", "coats", "Mantel", "m", "Mäntel", "thing small cleanable"),
    _noun("shirt", "shirts", "Hemd", "n", "Hemden", "thing small cleanable"),
    _noun("ring", "rings", "Ring", "m", "Ringe", "thing small"),
    _noun("stone", "stones", "Stein", "m", "Steine", "thing small"),
    _noun("card", "cards", "Karte", "f", "Karten", "thing small readable writable mail"),
    _noun("gift", "gifts", "Geschenk", "n", "Geschenke", "thing small mail openable"),
    _noun("package", "packages", "Paket", "n", "Pakete", "thing small mail openable"),
    _noun("umbrella", "umbrellas", "Regenschirm", "m", "Regenschirme", "thing small"),
    _noun("doll", "dolls", "Puppe", "f", "Puppen", "thing small paintable"),
    _noun("computer", "computers", "Computer", "m", "Computer", "thing repairable"),
    _noun("bike", "bikes", "Fahrrad", "n", "Fahrräder", "thing vehicle repairable pushable cleanable", f"{ON}|{NEAR}"),
    _noun("car", "cars", "Auto", "n", "Autos", "thing holder vehicle repairable pushable cleanable paintable", f"{IN}|{NEAR}|under|on"),
    _noun("bus", "buses", "Bus", "m", "Busse", "thing vehicle", f"{IN}|{NEAR}|to"),
    _noun("train", "trains", "Zug", "m", "Züge", "thing vehicle", f"{IN}|next to"),
    _noun("boat", "boats", "Boot", "n", "Boote", "thing vehicle buildable repairable pushable paintable", f"{IN}|{ON}|next to"),
    # furniture and parts of a house
    _noun("table", "tables", "Tisch", "m", "Tische", "thing holder buildable repairable cleanable pushable high", f"{ON}|under|{NEAR}|at|from"),
    _noun("chair", "chairs", "Stuhl", "m", "Stühle", "thing holder buildable repairable pushable high", f"{ON}|under|{NEAR}|from"),
    _noun("bed", "beds", "Bett", "n", "Betten", "thing holder buildable pushable high", f"{IN}|{ON}|under|next to|from"),
    _noun("sofa", "sofas", "Sofa", "n", "Sofas", "thing holder pushable high cleanable", f"{ON}|under|{NEAR}|from"),
    _noun("shelf", "shelves", "Regal", "n", "Regale", "thing holder buildable repairable cleanable", f"{ON}|under|next to|from"),
    _noun("door", "doors", "Tür", "f", "Türen", "thing openable repairable cleanable", f"{NEAR}|at|through|to"),
    _noun("window", "windows", "Fenster", "n", "Fenster", "thing openable repairable cleanable", f"{NEAR}|at|through|out of|to"),
    _noun("wall", "walls", "Wand", "f", "Wände", "thing buildable", f"{NEAR}|at"),
    _noun("roof", "roofs", "Dach", "n", "Dächer", "thing repairable high", f"{ON}|under|from"),
    _noun("floor", "floors", "Boden", "m", "Böden", "thing holder cleanable", f"{ON}|from"),
    # places
    _noun("park", "parks", "Park", "m", "Parks", "place road paintable", f"{IN}|through|to|from|{NEAR}"),
    _noun("garden", "gardens", "Garten", "m", "Gärten", "place paintable", f"{IN}|through|{NEAR}"),
    _noun("house", "houses", "Haus", "n", "Häuser", "place road paintable buildable", f"{IN}|through|to|from|{NEAR}"),
    _noun("kitchen", "kitchens", "Küche", "f", "Küchen", "place cleanable", f"{IN}|through"),
    _noun("room", "rooms", "Zimmer", "n", "Zimmer", "place cleanable", f"{IN}|through"),
    _noun("school", "schools", "Schule", "f", "Schulen", "place road", f"{IN}|to|from|{NEAR}|at"),
    _noun("city", "cities", "Stadt", "f", "Städte", "place road paintable", f"{IN}|through"),
    _noun("village", "villages", "Dorf", "n", "Dörfer", "place road paintable", f"{IN}|through|to|{NEAR}"),
    _noun("forest", "forests", "Wald", "m", "Wälder", "place road paintable", f"{IN}|through|to|from|{NEAR}"),
    _noun("station", "stations", "Bahnhof", "m", "Bahnhöfe", "place road", f"{IN}|to|from|{NEAR}|at"),
    _noun("shop", "shops", "Laden", "m", "Läden", "place road", f"{IN}|to|from|{NEAR}"),
    _noun("church", "churches", "Kirche", "f", "Kirchen", "place road paintable buildable", f"{IN}|to|from|{NEAR}|at"),
    _noun("hospital", "hospitals", "Krankenhaus", "n", "Krankenhäuser", "place road", f"{IN}|to|from|{NEAR}"),
    _noun("library", "libraries", "Bibliothek", "f", "Bibliotheken", "place road", f"{IN}|to|from|{NEAR}"),
    _noun("river", "rivers", "Fluss", "m", "Flüsse", "place water road paintable", f"{IN}|through|to|from|next to|at"),
    _noun("lake", "lakes", "See", "m", "Seen", "place water road paintable", f"{IN}|through|to|from|next to|at"),
    _noun("street", "streets", "Straße", "f", "Straßen", "place road", f"{ON}|through"),
    _noun("bridge", "bridges", "Brücke", "f", "Brücken", "place road buildable paintable", f"{ON}|under|to|from|{NEAR}"),
    _noun("mountain", "mountains", "Berg", "m", "Berge", "place road paintable high", f"{ON}|to|from|behind|in front of"),
    _noun("field", "fields", "Feld", "n", "Felder", "place", f"{ON}|through|next to|behind"),
    _noun("tree", "trees", "Baum", "m", "Bäume", "thing holder paintable high", f"{ON}|under|{NEAR}|from|to"),
]  # fmt: skip

NOUNS: dict[str, Noun] = {noun.english: noun for noun in _NOUN_LIST}


def _adjective(english: str, german: str, tags: str) -> Adjective:
    return Adjective(english, german, frozenset(tags.split()))


ANY = "animate thing place"

_ADJECTIVE_LIST = [
    _adjective("big", "groß", ANY),
    _adjective("small", "klein", ANY),
    _adjective("old", "alt", ANY),
    _adjective("beautiful", "schön", ANY),
    _adjective("ugly", "hässlich", ANY),
    _adjective("new", "neu", "thing place"),
    _adjective("young", "jung", "animate"),
    _adjective("red", "rot", "thing place"),
    _adjective("blue", "blau", "thing place"),
    _adjective("green", "grün", "thing place"),
    _adjective("yellow", "gelb", "thing place"),
    _adjective("black", "schwarz", "thing animal"),
    _adjective("white", "weiß", "thing animal"),
    _adjective("brown", "braun", "thing animal"),
    _adjective("grey", "grau", "thing animal place"),
    _adjective("tired", "müde", "animate"),
    _adjective("hungry", "hungrig", "animate"),
    _adjective("happy", "glücklich", "animate"),
    _adjective("sad", "traurig", "animate"),
    _adjective("friendly", "freundlich", "animate"),
    _adjective("funny", "lustig", "animate"),
    _adjective("clever", "klug", "animate"),
    _adjective("lazy", "faul", "animate"),
    _adjective("brave", "mutig", "animate"),
    _adjective("angry", "wütend", "animate"),
    _adjective("poor", "arm", "person"),
    _adjective("rich", "reich", "person"),
    _adjective("famous", "berühmt", "person place"),
    _adjective("strong", "stark", "animate"),
    _adjective("wild", "wild", "animal"),
    _adjective("quiet", "ruhig", "animate place"),
    _adjective("loud", "laut", "animate place"),
    _adjective("fast", "schnell", "animal vehicle"),
    _adjective("slow", "langsam", "animal vehicle"),
    _adjective("heavy", "schwer", "thing"),
    _adjective("light", "leicht", "thing"),
    _adjective("cheap", "billig", "thing"),
    _adjective("clean", "sauber", "thing place"),
    _adjective("dirty", "schmutzig", "thing place"),
    _adjective("wet", "nass", "thing animate"),
    _adjective("dry", "trocken", "thing"),
    _adjective("warm", "warm", "thing place"),
    _adjective("cold", "kalt", "thing place"),
    _adjective("long", "lang", "thing"),
    _adjective("short", "kurz", "thing"),
]

ADJECTIVES: dict[str, Adjective] = {adjective.english: adjective for adjective in _ADJECTIVE_LIST}

LOCATION = ("in", "on", "under", "behind", "next to", "in front of", "at")


def _verb(
    english: str,
    german: str,
    german_3sg: str,
    german_participle: str,
    frame: str,
    subject: str,
    object: str = "",
    *,
    english_3sg: str = "",
    english_participle: str = "",
    german_1sg: str = "",
    auxiliary: str = "haben",
    object_case: str = "acc",
    prepositions: tuple[str, ...] = (),
    pp_tag: str = "",
    needs_pp: bool = False,
    with_german: str = "mit",
) -> Verb:
    return Verb(
        english=english,
        english_3sg=english_3sg or english + "s",
        english_participle=english_participle or english + "ed",
        german=german,
        german_1sg=german_1sg or german[:-2] + "e",
        german_3sg=german_3sg,
        german_participle=german_participle,
        auxiliary=auxiliary,
        frame=frame,
        subject=subject,
        object=object,
        object_case=object_case,
        prepositions=prepositions,
        pp_tag=pp_tag,
        needs_pp=needs_pp,
        with_german=with_german,
    )


INTRANSITIVE, TRANSITIVE, DITRANSITIVE, THAT = "intransitive", "transitive", "ditransitive", "that"

_VERB_LIST = [
    # intransitive
    _verb("sleep", "schlafen", "schläft", "geschlafen", INTRANSITIVE, "animate", english_participle="slept", prepositions=LOCATION),
    _verb("play", "spielen", "spielt", "gespielt", INTRANSITIVE, "animate", prepositions=(*LOCATION, "with", "without")),
    _verb("work", "arbeiten", "arbeitet", "gearbeitet", INTRANSITIVE, "person", prepositions=(*LOCATION, "with", "for")),
    _verb("wait", "warten", "wartet", "gewartet", INTRANSITIVE, "animate", prepositions=(*LOCATION, "with", "without")),
    _verb("sing", "singen", "singt", "gesungen", INTRANSITIVE, "person", english_participle="sung", prepositions=(*LOCATION, "with", "for")),
    _verb("dance", "tanzen", "tanzt", "getanzt", INTRANSITIVE, "person", english_participle="danced", prepositions=(*LOCATION, "with")),
    _verb("laugh", "lachen", "lacht", "gelacht", INTRANSITIVE, "person", prepositions=(*LOCATION, "with")),
    _verb("cry", "weinen", "weint", "geweint", INTRANSITIVE, "person", english_3sg="cries", english_participle="cried", prepositions=LOCATION),
    _verb("bark", "bellen", "bellt", "gebellt", INTRANSITIVE, "dog", prepositions=LOCATION),
    _verb("sit", "sitzen", "sitzt", "gesessen", INTRANSITIVE, "animate", english_participle="sat", prepositions=(*LOCATION, "with")),
    _verb("stand", "stehen", "steht", "gestanden", INTRANSITIVE, "animate", english_participle="stood", prepositions=LOCATION),
    _verb("live", "wohnen", "wohnt", "gewohnt", INTRANSITIVE, "animate", english_participle="lived", prepositions=("in", "next to", "behind", "with"), pp_tag="place", needs_pp=True, with_german="bei"),
    _verb("stay", "bleiben", "bleibt", "geblieben", INTRANSITIVE, "animate", auxiliary="sein", prepositions=("in", "with"), pp_tag="place", needs_pp=True, with_german="bei"),
    _verb("swim", "schwimmen", "schwimmt", "geschwommen", INTRANSITIVE, "animate", english_participle="swum", auxiliary="sein", prepositions=("in", "into", "out of", "through", "to", "with"), pp_tag="water"),
    _verb("run", "laufen", "läuft", "gelaufen", INTRANSITIVE, "animate", english_participle="run", auxiliary="sein", prepositions=("in", "into", "out of", "through", "to", "with", "without")),
    _verb("go", "gehen", "geht", "gegangen", INTRANSITIVE, "person", english_3sg="goes", english_participle="gone", auxiliary="sein", prepositions=("into", "out of", "through", "to", "with", "without")),
    _verb("come", "kommen", "kommt", "gekommen", INTRANSITIVE, "animate", english_participle="come", auxiliary="sein", prepositions=("into", "out of", "from", "to", "with", "without")),
    _verb("drive", "fahren", "fährt", "gefahren", INTRANSITIVE, "person", english_participle="driven", auxiliary="sein", prepositions=("through", "to", "from", "with", "without"), pp_tag="road"),
    _verb("fly", "fliegen", "fliegt", "geflogen", INTRANSITIVE, "bird", english_3sg="flies", english_participle="flown", auxiliary="sein", prepositions=("in", "on", "into", "onto", "out of", "through", "to")),
    _verb("jump", "springen", "springt", "gesprungen", INTRANSITIVE, "animate", auxiliary="sein", prepositions=("in", "on", "into", "onto", "out of")),
    _verb("climb", "klettern", "klettert", "geklettert", INTRANSITIVE, "animate", german_1sg="klettere", auxiliary="sein", prepositions=("onto",), pp_tag="high"),
    _verb("fall", "fallen", "fällt", "gefallen", INTRANSITIVE, "small", english_participle="fallen", auxiliary="sein", prepositions=("onto", "from"), pp_tag="high"),
    # transitive, accusative object
    _verb("see", "sehen", "sieht", "gesehen", TRANSITIVE, "animate", "thing animate place", english_participle="seen", prepositions=LOCATION),
    _verb("eat", "essen", "isst", "gegessen", TRANSITIVE, "animate", "food", english_participle="eaten", prepositions=(*LOCATION, "with")),
    _verb("read", "lesen", "liest", "gelesen", TRANSITIVE, "person", "readable", english_participle="read", prepositions=(*LOCATION, "with", "for")),
    _verb("take", "nehmen", "nimmt", "genommen", TRANSITIVE, "person", "small", english_participle="taken", prepositions=("out of", "from"), pp_tag="holder"),
    _verb("buy", "kaufen", "kauft", "gekauft", TRANSITIVE, "person", "thing animal", english_participle="bought", prepositions=("in", "for"), pp_tag="place"),
    _verb("find", "finden", "findet", "gefunden", TRANSITIVE, "animate", "thing animate", english_participle="found", prepositions=LOCATION),
    _verb("love", "lieben", "liebt", "geliebt", TRANSITIVE, "animate", "animate", english_participle="loved"),
    _verb("hear", "hören", "hört", "gehört", TRANSITIVE, "animate", "animate", english_participle="heard", prepositions=LOCATION),
    _verb("carry", "tragen", "trägt", "getragen", TRANSITIVE, "person", "small", english_3sg="carries", english_participle="carried", prepositions=("into", "out of", "to", "through")),
    _verb("hold", "halten", "hält", "gehalten", TRANSITIVE, "person", "small", english_participle="held", prepositions=LOCATION),
    _verb("wash", "waschen", "wäscht", "gewaschen", TRANSITIVE, "person", "cleanable animate", english_3sg="washes", prepositions=("in",), pp_tag="place"),
    _verb("catch", "fangen", "fängt", "gefangen", TRANSITIVE, "animate", "small", english_3sg="catches", english_participle="caught", prepositions=LOCATION),
    _verb("need", "brauchen", "braucht", "gebraucht", TRANSITIVE, "person", "thing"),
    _verb("visit", "besuchen", "besucht", "besucht", TRANSITIVE, "person", "person place", prepositions=("in",), pp_tag="place"),
    _verb("open", "öffnen", "öffnet", "geöffnet", TRANSITIVE, "person", "openable"),
    _verb("paint", "malen", "malt", "gemalt", TRANSITIVE, "person", "paintable animate", prepositions=(*LOCATION, "for")),
    _verb("draw", "zeichnen", "zeichnet", "gezeichnet", TRANSITIVE, "person", "paintable animate", english_participle="drawn", prepositions=(*LOCATION, "for")),
    _verb("write", "schreiben", "schreibt", "geschrieben", TRANSITIVE, "person", "writable", english_participle="written", prepositions=(*LOCATION, "for")),
    _verb("build", "bauen", "baut", "gebaut", TRANSITIVE, "person", "buildable", english_participle="built", prepositions=("in", "for", "with"), pp_tag="place"),
    _verb("cook", "kochen", "kocht", "gekocht", TRANSITIVE, "person", "cookable", prepositions=("in", "for", "with"), pp_tag="place"),
    _verb("sell", "verkaufen", "verkauft", "verkauft", TRANSITIVE, "person", "thing animal", english_participle="sold", prepositions=("in",), pp_tag="place"),
    _verb("forget", "vergessen", "vergisst", "vergessen", TRANSITIVE, "person", "small", english_participle="forgotten", prepositions=("in", "on", "under")),
    _verb("know", "kennen", "kennt", "gekannt", TRANSITIVE, "person", "animate place", english_participle="known"),
    _verb("lose", "verlieren", "verliert", "verloren", TRANSITIVE, "person", "small", english_participle="lost", prepositions=("in", "on")),
    _verb("meet", "treffen", "trifft", "getroffen", TRANSITIVE, "person", "person", english_participle="met", prepositions=("in", "at", "on", "in front of")),
    _verb("throw", "werfen", "wirft", "geworfen", TRANSITIVE, "person", "portable", english_participle="thrown", prepositions=("into", "onto", "through", "out of")),
    _verb("call", "rufen", "ruft", "gerufen", TRANSITIVE, "person", "animate", prepositions=LOCATION),
    _verb("ask", "fragen", "fragt", "gefragt", TRANSITIVE, "person", "person", prepositions=LOCATION),
    _verb("watch", "beobachten", "beobachtet", "beobachtet", TRANSITIVE, "animate", "animate", english_3sg="watches", prepositions=LOCATION),
    _verb("kiss", "küssen", "küsst", "geküsst", TRANSITIVE, "person", "animate", english_3sg="kisses", prepositions=LOCATION),
    _verb("like", "mögen", "mag", "gemocht", TRANSITIVE, "animate", "thing animate place", german_1sg="mag", english_participle="liked"),
    _verb("have", "haben", "hat", "gehabt", TRANSITIVE, "animate", "small", english_3sg="has", english_participle="had"),
    _verb("clean", "putzen", "putzt", "geputzt", TRANSITIVE, "person", "cleanable"),
    _verb("repair", "reparieren", "repariert", "repariert", TRANSITIVE, "person", "repairable", prepositions=("in", "with"), pp_tag="place"),
    _verb("feed", "füttern", "füttert", "gefüttert", TRANSITIVE, "person", "animal", german_1sg="füttere", english_participle="fed", prepositions=LOCATION),
    _verb("pull", "ziehen", "zieht", "gezogen", TRANSITIVE, "animate", "pushable", prepositions=("into", "out of", "through", "to")),
    _verb("push", "schieben", "schiebt", "geschoben", TRANSITIVE, "person", "pushable", english_3sg="pushes", prepositions=("into", "out of", "through", "to")),
    _verb("hide", "verstecken", "versteckt", "versteckt", TRANSITIVE, "animate", "small", english_participle="hidden", prepositions=("in", "under", "behind")),
    # transitive, dative object
    _verb("help", "helfen", "hilft", "geholfen", TRANSITIVE, "animate", "animate", object_case="dat", prepositions=LOCATION),
    _verb("thank", "danken", "dankt", "gedankt", TRANSITIVE, "person", "animate", object_case="dat"),
    _verb("follow", "folgen", "folgt", "gefolgt", TRANSITIVE, "animate", "animate", auxiliary="sein", object_case="dat", prepositions=("into", "through", "to")),
    _verb("answer", "antworten", "antwortet", "geantwortet", TRANSITIVE, "person", "person", object_case="dat"),
    _verb("trust", "vertrauen", "vertraut", "vertraut", TRANSITIVE, "animate", "animate", object_case="dat"),
    # ditransitive: dative recipient, accusative theme
    _verb("give", "geben", "gibt", "gegeben", DITRANSITIVE, "person", "portable", english_participle="given"),
    _verb("show", "zeigen", "zeigt", "gezeigt", DITRANSITIVE, "person", "portable", english_participle="shown"),
    _verb("send", "schicken", "schickt", "geschickt", DITRANSITIVE, "person", "mail", english_participle="sent"),
    _verb("bring", "bringen", "bringt", "gebracht", DITRANSITIVE, "person", "portable", english_participle="brought"),
    _verb("buy", "kaufen", "kauft", "gekauft", DITRANSITIVE, "person", "portable", english_participle="bought"),
    _verb("write", "schreiben", "schreibt", "geschrieben", DITRANSITIVE, "person", "writable", english_participle="written"),
    _verb("sell", "verkaufen", "verkauft", "verkauft", DITRANSITIVE, "person", "portable", english_participle="sold"),
    # with a that-clause
    _verb("say", "sagen", "sagt", "gesagt", THAT, "person", english_3sg="says", english_participle="said"),
    _verb("know", "wissen", "weiß", "gewusst", THAT, "person", german_1sg="weiß", english_participle="known"),
    _verb("think", "denken", "denkt", "gedacht", THAT, "person", english_participle="thought"),
    _verb("believe", "glauben", "glaubt", "geglaubt", THAT, "person", english_participle="believed"),
    _verb("hope", "hoffen", "hofft", "gehofft", THAT, "person", english_participle="hoped"),
]  # fmt: skip

VERBS: dict[tuple[str, str], Verb] = {(verb.english, verb.frame): verb for verb in _VERB_LIST}

PREPOSITIONS: dict[str, Preposition] = {
    p.english: p
    for p in [
        Preposition("in", "in", "dat", "location"),
        Preposition("on", "auf", "dat", "location"),
        Preposition("under", "unter", "dat", "location"),
        Preposition("behind", "hinter", "dat", "location"),
        Preposition("next to", "neben", "dat", "location"),
        Preposition("in front of", "vor", "dat", "location"),
        Preposition("at", "an", "dat", "location"),
        Preposition("into", "in", "acc", "direction"),
        Preposition("onto", "auf", "acc", "direction"),
        Preposition("through", "durch", "acc", "direction"),
        Preposition("to", "zu", "dat", "direction"),
        Preposition("from", "von", "dat", "direction"),
        Preposition("out of", "aus", "dat", "direction"),
        Preposition("with", "mit", "dat", "company"),
        Preposition("without", "ohne", "acc", "company"),
        Preposition("for", "für", "acc", "company"),
    ]
}

PRONOUNS: dict[str, Pronoun] = {
    p.english: p
    for p in [
        Pronoun("I", "me", "ich", "mich", "mir", "1sg"),
        Pronoun("he", "him", "er", "ihn", "ihm", "3sg"),
        Pronoun("she", "her", "sie", "sie", "ihr", "3sg"),
        Pronoun("it", "it", "es", "es", "ihm", "3sg"),
        Pronoun("we", "us", "wir", "uns", "uns", "pl"),
        Pronoun("they", "them", "sie", "sie", "ihnen", "pl"),
    ]
}

# English determiner -> German ein-word stem; "the" and numerals are handled apart.
POSSESSIVES = {"my": "mein", "his": "sein", "our": "unser", "their": "ihr"}
DETERMINERS = {"a": "ein", "no": "kein", **POSSESSIVES}
NUMERALS = {
    "two": "zwei",
    "three": "drei",
    "four": "vier",
    "five": "fünf",
    "six": "sechs",
    "seven": "sieben",
    "eight": "acht",
    "nine": "neun",
    "ten": "zehn",
}
SUBORDINATORS = {"because": "weil", "if": "wenn", "that": "dass"}
CONJUNCTIONS = {"and": "und", "but": "aber"}


def lexicon_size() -> dict[str, int]:
    """Number of English lemmas per word class (a verb in two frames counts once)."""
    sizes = {
        "nouns": len(NOUNS),
        "adjectives": len(ADJECTIVES),
        "verbs": len({english for english, _ in VERBS}),
        "prepositions": len(PREPOSITIONS),
        "pronouns": len(PRONOUNS),
        "determiners": len(DETERMINERS) + 1,
        "numerals": len(NUMERALS),
        "conjunctions": len(SUBORDINATORS) + len(CONJUNCTIONS),
    }
    sizes["total"] = sum(sizes.values())
    return sizes
