/** The release version, printed by `--version` and sent in the Flex User-Agent. */
export const VERSION = "0.1.0";
