package delivery

import (
	"crypto/rand"
	"math/big"
	"strings"
)

// NewID returns a Fivetran-style id: two lowercase words joined by "_", for
// example "program_quoth". The first word is an adjective or a verb, the
// second a noun, both drawn with crypto/rand from embedded lists (over 400 ×
// 380 combinations), so collisions are rare but possible: callers that store
// the id retry on conflict.
func NewID() string {
	return firstWords[randIndex(len(firstWords))] + "_" + secondWords[randIndex(len(secondWords))]
}

// randIndex returns a uniformly random integer in [0, n) from crypto/rand.
func randIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		// crypto/rand.Reader never fails on supported platforms (Go ≥ 1.24
		// crashes the program instead); keep the compiler satisfied.
		panic("delivery: crypto/rand: " + err.Error())
	}
	return int(v.Int64())
}

// firstWords are adjectives and verbs: the first half of an id.
var firstWords = strings.Fields(`
able absent absorb acid adapt adjust admire advise agile airy alert amber amble ample
amuse ancient angry antique applaud apt arctic arid arrange artful assemble assimilate
astute atomic attach august avid awake aware azure balance balmy banish bargain bashful
basic beaming beckon bitter blazing bleak blend blissful blunt bold bonny bounce bouncy
brash brave breezy brew brief bright brisk broad broadcast bronze browse bubbly build
bumpy busy calculate calm candid canny capable capture careful caring carve casual
celebrate chant charm chase cheerful cherish chilly chime chosen civic civil classic
clean clever climb cloudy coastal cobalt collect compose conquer cool cosmic cozy crafty
creamy crisp curious curly dainty damp dance dangle dapper daring dazzle decent decorate
deep deft deliver dense depart devout dewy direct discover distant dive dizzy drift
dusty eager early earnest easy echo elated elder electric elegant embark eminent empty
enchant endless endure epic equal even exact exotic expert explore faint fair famous
fancy fasten fearless feisty fervent fetch fierce fiery final fine firm fit flat fleet
flourish fluent fluffy flutter flying fond forage formal frank free fresh frosty frugal
full fuzzy gallant gallop gather gentle giant giddy gifted glad gleaming glide glimmer
global glossy glow golden govern grand grateful graze great green greet grumpy guard
hardy harvest hasty hazy hearty heavy hidden hollow honest hover hum humble hungry
icy ideal idle ignite imagine implode inky inner inspire invent jolly jovial joyful
juggle jumpy keen kind kindle knit lanky large lasting launch lavish lazy lean linger
listen lively lofty lone loud loyal lucid lucky lunar lush magic major march mellow
mend merry mighty migrate mild mingle misty modern modest moist molten mossy muddy
murky mystic narrow native navigate neat nestle nimble noble noisy novel nurture oaken
observe odd open ornate overt paint pale patient peaceful perky placid plain plucky
plush poised polar polite ponder prance prime program proud quick quiet quirky quoth
radiant ramble rapid rare ready regal rich rigid ripe ripple roam robust rocky rosy
rough round royal rugged rummage rustic sacred sail salty sandy saunter savvy scatter
scenic scribble secret seem serene sharp shimmer shiny shy silent silky simple sketch
skip sleek sleepy slim smart smooth snowy snug soar social soft solar solid sonic sour
spare sparkle spicy sprint spry stable steady steep stern stormy stout stroll strong
sturdy subtle summon sunny super sure surge sweet swift swirl tame tangy tender tidy
tinker tiny tough tranquil travel trek true trusty tumble twin twirl unfold upbeat
urban valid vast velvet venture vivid vocal wander warm wary wavy wealthy whistle wild
windy wise witty wobble wonder woody yodel young zany zesty zoom
`)

// secondWords are nouns: the second half of an id.
var secondWords = strings.Fields(`
acorn acre album alcove almond amulet anchor antler anvil apple apricot apron arch
arrow aspen atlas attic aurora autumn avenue badger bagel bakery balcony bamboo banjo
banner barley barn basin bayou beacon beagle beaker bear beaver beetle bell berry
birch biscuit bison blanket blossom bluff boat bobcat bonfire bonnet bottle bough
boulder bracket bramble bread breeze brick bridge brook brush bucket buffalo butter
button cabin cable cactus camel canal candle canoe canopy canyon caravan carbon cargo
carpet carrot cashew castle cavern cedar cellar chalk channel chapel cherry chestnut
chimney cider cinder circle citadel clover cobble cobra cocoa comet compass condor
cookie copper coral cottage cotton crane crater crayon creek cricket crown crystal
cupboard current cymbal cypress dagger dahlia daisy delta desert dew diamond dolphin
donkey dove dragon drizzle drum dune eagle easel elk elm ember emerald engine estuary
fable falcon feather fern ferry fiddle field fig finch fjord flame flint flute forest
forge fossil fountain fox galaxy garden garnet gazelle geyser glacier glade globe
goblet gondola gorge granite gravel grove guitar gull hamlet hammock harbor harp hawk
hazel hedge helmet hemlock heron hill hive horizon iris island ivory jackal jacket
jade jaguar jasmine jelly jetty journal juniper kayak kelp kernel kettle kite koala
ladder lagoon lake lantern lark lava lemon lichen lily linen lobster locket lotus lynx
magnet mammoth mango mantle maple marble marsh meadow melon mesa meteor mill minnow
mint mirror mitten monsoon moose moss mountain muffin mule nebula needle nest nutmeg
oak oasis ocean olive onion opal orbit orchard orchid otter owl oyster paddle palace
panda panther paprika parrot parsnip path pear pebble pecan pelican pepper petal piano
pier pigeon pillow pine pinecone pixel planet plateau plum pocket pond poplar prairie
prism puffin pumpkin quail quarry quartz quill quiver rabbit radish raft rain raven
reef ribbon ridge river robin rocket rose ruby sable saddle sage sail salmon sand
sapphire satchel scarf schooner seal sequoia shadow shell shore sierra slate sleet
sparrow spoon spring spruce squirrel star stone stork stream sugar summit sundial
sunset swan tablet tapir teapot temple thimble thistle thunder tide tiger timber toad
topaz torch tower trail trout tulip tundra tunnel turtle umbrella urchin valley vase
vessel village vine violet volcano wagon walnut walrus whale wharf wheat wick willow
window wolf wren yacht yak yarrow zebra zephyr
`)
