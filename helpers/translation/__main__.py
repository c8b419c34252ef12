"""``python -m helpers.translation train|evaluate|average``, the command lines that
`05_training_translation` describes; see ``helpers.translation.cli``."""

from helpers.translation.cli import main

if __name__ == "__main__":
    main()
