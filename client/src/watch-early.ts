import { startEarlyWhep } from './early-whep.js';

// The watch and embed pages' first script (bundled, inline in their head): the WHEP offer leaves before the page's module has run.
startEarlyWhep();
