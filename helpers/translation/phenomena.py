"""The linguistic phenomena tagged in the bundled toy-en-de corpus: tag -> what it marks.

Every example of ``load_dataset("toy-en-de", ...)`` carries the tags of the phenomena its
sentence pair shows; notebook 05 scores translations per tag. The corpus generator
(``tools/toy_corpus``) writes these tags; this small module is what the course imports.
"""

__all__ = ["PHENOMENA"]
PHENOMENA = {
    "adjective": "an attributive adjective, declined by case, gender, number and determiner",
    "contraction": "preposition + article contracted: im, am, ins, zum, zur, beim, vom",
    "coordination": "coordinated noun phrases (plural verb) or coordinated clauses (und, aber)",
    "dative_object": "a dative object: dative verbs (helfen, folgen ...) or a recipient",
    "modal": "will/can + infinitive: wird/kann ... sehen, infinitive at the end",
    "negation_kein": "negated indefinite: not ... a / no -> kein",
    "negation_nicht": "negation with nicht after the objects, before participle or infinitive",
    "numeral": "a numeral (two ... ten) with a plural noun and strong adjective endings",
    "perfect": "present perfect: hat/ist ... gesehen, participle at the end",
    "plural": "a plural noun phrase",
    "pp_accusative": "a prepositional phrase in the accusative (into, onto, through, for ...)",
    "pp_dative": "a prepositional phrase in the dative (in, on, with, to, from ...)",
    "pronoun": "a personal pronoun (ich, er, sie, es, wir, sie; mich, ihm, ihnen ...)",
    "question": "a yes/no question: verb first, do-support in English",
    "subordinate": "a subordinate clause (dass, weil, wenn) with the verb last",
}
